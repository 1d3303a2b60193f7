import { startSwift, swiftUnavailableReason } from "../servers/swift";
import { engineContract } from "./engineContract";

engineContract("OpenStack Swift s3api", async () => {
  const unavailable = swiftUnavailableReason();
  if (unavailable) {
    if (process.env.CI === "true") throw new Error(`OpenStack Swift s3api is required in CI: ${unavailable}`);
    console.log(`      skipped: OpenStack Swift s3api tier: ${unavailable}`);
    return undefined;
  }
  return startSwift();
}, { bulkKeys: 1100 }); // Swift writes slowly (Python proxy): two listing pages, not minutes of uploads
