import { startS3rver } from "../servers/s3rver";
import { engineContract } from "./engineContract";

engineContract("s3rver (embedded)", startS3rver, { bulkKeys: 2600 });
