/** `bucket-sync s3-server`: the embedded S3 server in the foreground, for trying things out. */
import { SUBCOMMANDS } from "./commands";
import type { Command } from "commander";

export function registerS3Server(program: Command): void {
  program
    .command("s3-server")
    .description(SUBCOMMANDS["s3-server"])
    .option("--port <n>", "TCP port (default: a free one)", "0")
    .option("--dir <directory>", "where to keep buckets (default: a temporary directory, removed on exit)")
    .action(async (options: { port: string; dir?: string }) => {
      if (!/^\d+$/.test(options.port) || Number(options.port) > 65535) {
        throw new Error(`--port must be a TCP port number, got "${options.port}"`);
      }
      const { startEmbeddedS3 } = await import("../s3-server/embeddedS3");
      const server = await startEmbeddedS3({ port: Number(options.port), directory: options.dir });
      console.log(`# embedded S3 on ${server.endpoint}, data in ${server.directory}; Ctrl-C stops it`);
      console.log(`export AWS_ACCESS_KEY_ID=${server.accessKeyId}`);
      console.log(`export AWS_SECRET_ACCESS_KEY=${server.secretAccessKey}`);
      console.log(`export AWS_REGION=${server.region}`);
      console.log(`export AWS_ENDPOINT_URL=${server.endpoint}`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await server.stop();
    });
}
