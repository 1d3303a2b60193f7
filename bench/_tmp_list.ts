import { S3Client, ListObjectsV2Command, ListObjectsCommand } from "@aws-sdk/client-s3";
const c = new S3Client({ endpoint: "http://127.0.0.1:9555", region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
(async () => {
  for (let r = 0; r < 3; r++) {
    let t = performance.now(); await c.send(new ListObjectsV2Command({ Bucket: "bench-src", MaxKeys: 1000 })); const a = performance.now() - t;
    t = performance.now(); await c.send(new ListObjectsCommand({ Bucket: "bench-src", MaxKeys: 1000 })); const b = performance.now() - t;
    t = performance.now(); await c.send(new ListObjectsV2Command({ Bucket: "bench-src", MaxKeys: 100, StartAfter: "obj-001500.bin" })); const d = performance.now() - t;
    t = performance.now(); await c.send(new ListObjectsV2Command({ Bucket: "bench-src", MaxKeys: 1 })); const e = performance.now() - t;
    console.log({ v2: a.toFixed(0), v1: b.toFixed(0), v2_100: d.toFixed(0), v2_1: e.toFixed(0) });
  }
})();
