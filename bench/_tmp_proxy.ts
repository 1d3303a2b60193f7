import { startCountingProxy } from "./lib/countingProxy";
import { exec } from "node:child_process";
import { promisify } from "node:util";
const run = promisify(exec);
(async () => {
  const p = await startCountingProxy("http://127.0.0.1:9555");
  const env = { ...process.env, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };
  for (const cmd of [
    `/usr/bin/aws s3 sync s3://bench-src s3://bench-d2 --endpoint-url ${p.endpoint} --only-show-errors`,
    `node dist/cli/index.js sync --source s3://bench-src --destination s3://bench-d1 --endpoint ${p.endpoint} --report-to s3://bench-reports/r1/`,
    `rclone sync b:bench-src b:bench-d3 --fast-list --checksum --transfers 16 --s3-endpoint ${p.endpoint} -q`,
  ]) {
    p.reset(); const t = Date.now();
    await run(cmd, { env });
    console.log(cmd.slice(0, 30), Date.now() - t, p.counts(), p.peakInFlight());
  }
  await p.stop();
})();
