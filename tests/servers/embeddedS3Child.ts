/**
 * The child process {@link startS3rverProcess} runs: the embedded S3 server on a free port,
 * announced as one JSON line on stdout. It stops, removing its data, when its parent closes
 * stdin (the parent stopped it, or the parent died), so no server outlives a test run.
 */
import { startEmbeddedS3 } from "../../s3-server/embeddedS3";

async function main(): Promise<void> {
  const server = await startEmbeddedS3();
  const { endpoint, region, accessKeyId, secretAccessKey, directory } = server;
  process.stdout.write(`${JSON.stringify({ endpoint, region, accessKeyId, secretAccessKey, directory })}\n`);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= server.stop().then(() => process.exit(0));
  };
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
