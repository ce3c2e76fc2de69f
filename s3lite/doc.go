// Package s3lite is kmsbox's S3 server: the S3 API subset that real
// clients use (aws cli, the AWS SDKs, minio-go/mc, rclone, restic, s3cmd),
// requests authenticated with AWS Signature V4 (or SigV2 presigned URLs) or
// anonymous where a bucket policy or ACL makes a bucket public, and every
// object encrypted at rest the way MinIO does it when a
// KMS is configured: SSE-S3, SSE-KMS, SSE-C and bucket default encryption,
// with DARE 2.0 streams in github.com/minio/sio's format (body streams are
// sealed and read by s3lite/internal/dare, sealed keys and the last package
// of a read by sio itself; the dare doc says why).
//
// Layout: routes.go is the whole API surface (S3 dispatches on query
// subresources, which http.ServeMux cannot), serve.go runs a request through it
// (authentication, authorization, body limits, access log); errors.go is the one table from
// sentinel errors to S3 error XML; store*.go is the only code touching
// bbolt and the body files (store.go: open and bucket records, storefile.go:
// body files, storeobject.go: object records and their updates, storeupload.go:
// multipart uploads, storeversion.go, storeversiondelete.go and storeversionscan.go:
// object versions, storelock.go: Object Lock); crypto.go holds the key derivation and
// sealing of the spec (minio-kms.md section 3) and the range decryption; encryption.go
// reads and writes SSE headers; damaged.go, recordmac.go, storekey.go and
// bodyhash.go hold the integrity checks, check.go the offline Check.
// Object and bucket tagging are in tagging.go (tags live in the MAC'd records),
// GetObjectAttributes in attributes.go, browser-based POST uploads in postobject.go
// (the form's signed policy: postpolicy.go; its signature: sigv4.VerifyPost).
//
// Access (authz.go): the users of Config.Credentials are root users owning every
// bucket; their requests are allowed unless a bucket policy's explicit Deny matches.
// Unsigned requests are anonymous and allowed only by a public bucket policy or an
// AllUsers ACL grant. Bucket policies are parsed and evaluated by policy.go and
// policyeval.go (hand-written: the Go IAM evaluators are AGPL); ACLs (acl.go) grant only
// to the owner and S3's groups, other grantees are refused as on an ACL-less bucket;
// ownership controls and public access blocks are in publicaccess.go.
//
// Storage: metadata lives in one bbolt file, bodies in files with random
// names under <Dir>/data (an object key never becomes a path). An upload
// goes to <Dir>/tmp, is fsynced and renamed, and only then does the
// metadata commit make it visible; Open empties tmp and removes body files
// no record refers to (a record that no longer decodes keeps every file name
// found in it), so a crash leaves neither partial objects nor orphans.
//
// Versions (versioning.go, listversions.go, storeversion.go): a bucket with versioning
// Enabled keeps every PUT, copy and multipart completion as a version with its own id
// (26 lowercase base32hex characters that sort newest first), and DELETE without a
// version id writes a delete marker; Suspended writes the "null" version, replacing the
// previous one. The current record of each key (possibly a delete marker) stays where an
// unversioned bucket keeps it, so unversioned PUT and GET do no extra metadata work;
// noncurrent versions are records of their own in a second sub-bucket, keyed so a cursor
// lists keys ascending and each key's versions newest first, each MAC'd and bound to
// bucket, key and version id. Every version has its own sealed object key and body
// files: removing a version (DELETE with versionId, lifecycle's noncurrent expiry)
// removes its record and files and crypto-shreds only it. The sweep and Check see
// noncurrent records like current ones.
// Bodies are streamed: nothing holds an object in memory. Unfinished multipart
// uploads older than Config.UploadExpiry (24 h) are aborted by a background
// sweeper (uploadexpiry.go).
//
// What the metadata keeps in the clear: keys, sizes, user metadata and the ETag
// clients see. For SSE-S3 that ETag is the plaintext's MD5, kept readable so a
// listing needs no KMS call per object (../shared/spec/s3-clients.md; MinIO seals
// it and decrypts one per listed object); it confirms a guessed content but reveals
// nothing else. Also in the clear: the bucket record key, and, without a KMS, the
// store key (storekey.go); with a KMS the store key is kept sealed by it.
//
// What is verified, and how (damaged.go, recordmac.go, bodyhash.go, check.go):
//   - every object record (current or noncurrent version) has an HMAC-SHA256 under a
//     key derived from the store key, every bucket record one under the bucket record
//     key, bound to bucket and object key (and version): an edited record (SSE fields
//     removed, a size, part offset, ETag or Content-Type changed) or one copied to
//     another key or version is refused before anything is read. Records written before MACs get one once; then a missing MAC is refused.
//   - every body file's size is checked against its record when it is opened (HEAD
//     stats them), so a cut or padded file is refused before a byte is read;
//   - plaintext bodies end in a trailer of HighwayHash-256 block hashes (one per
//     256 KiB), keyed from the store key, whose own hash is in the MAC'd record: each
//     block is verified before any byte of it is sent, a range reads only its blocks,
//     and another object's body fails the trailer hash. Plaintext written before block
//     hashes is size-checked only;
//   - encrypted bodies are DARE 2.0: each 64 KiB package is authenticated under a key
//     sealed to bucket/object, so flips, truncation, reordering and swaps fail.
//
// A failure answers 500 XMinioObjectTampered for that object only (GET, HEAD, copy),
// names it once in the log, leaves it out of listings (as MinIO leaves out entries
// whose metadata does not decode) and lets DeleteObject remove it; Open never fails on
// damaged content. Check verifies a whole store offline and repairs what is safe.
//
// Throughput (pipeline.go, md5lanes.go): an upload moves in 256 KiB chunks
// lent by a per-server pool. The request goroutine reads, encrypts and
// writes each chunk while one goroutine per hash (MD5 for the ETag, the
// request checksum) hashes it, at most four chunks behind, so one upload
// uses two cores. MD5 is the largest cost of an upload (about 600 MB/s a
// core; MinIO skips it under SSE-KMS and answers a random ETag, kmsbox keeps
// the MD5): while two or more large uploads run, each new one hashes in a
// lane of internal/md5x, which hashes up to 16 streams in one AVX-512 pass
// for the CPU of one stream in crypto/md5 (crypto/md5 without AVX-512).
// Bodies arrive at network speed, seldom at the same moment, so each lane's
// chunk waits up to 5 ms at a gate for the other lanes' chunks, and the
// writer that completes the batch hashes them all in one pass (an upload
// whose reads would stall on its waiting lane hashes the batch at once); a
// body of one chunk, or a large upload alone, uses crypto/md5. An
// encrypted body is sealed package by package straight into an aligned
// buffer (internal/dare; copyHashed writes each chunk after the next read,
// so the writer knows which one ends the stream) and written from it in
// aligned 512 KiB blocks with O_DIRECT, as MinIO writes large objects, so
// that it costs no page-cache copy (the last, short write goes through the
// cache); a plaintext body goes through the
// page cache, and the kernel is asked to start writing it every 2 MiB, so
// the one fsync finds little left to do.
// The body is renamed into data/ before that fsync, so that on a journaling
// file system one commit carries the data and the new entry (ext4 without a
// journal writes a new file's directory in the file's fsync), leaving the
// directory's fsync little to do. A read that needs only an object's last
// DARE package (every object up to 64 KiB) decrypts it at once in a pooled
// chunk.
//
// Bucket configurations: CORS (cors.go: Put/Get/DeleteBucketCors, unauthenticated
// preflight OPTIONS on buckets and objects, Access-Control-* headers on actual requests
// that carry an Origin) and lifecycle (lifecycle.go: Put/Get/DeleteBucketLifecycle
// configuration, checked as S3 checks it, x-amz-expiration on PUT/GET/HEAD). The
// background sweeper (uploadexpiry.go, lifecyclesweep.go, lifecyclenoncurrent.go) runs
// at most every hour by Config.Now: it aborts uploads older than Config.UploadExpiry and
// those an AbortIncompleteMultipartUpload rule expires, and deletes current objects an
// Expiration rule (Days, rounded up to midnight UTC as S3 does, or Date) has expired,
// through the path of a client's DeleteObject (a delete marker in a versioned bucket).
// In a versioned bucket it also removes the noncurrent versions a
// NoncurrentVersionExpiration rule expires (NoncurrentDays counted from when a version
// became noncurrent, keeping NewerNoncurrentVersions) and the delete markers left as the
// only version of their key (ExpiredObjectDeleteMarker, or an expired Days or Date),
// the latter through the path of a DeleteObject with a versionId.
//
// Object Lock (objectlock.go, objectretention.go, storelock.go): buckets created with
// x-amz-bucket-object-lock-enabled (or versioned buckets given a configuration) keep
// versioning Enabled; Put/GetObjectLockConfiguration with a default retention,
// Put/GetObjectRetention and Put/GetObjectLegalHold per version, the x-amz-object-lock-*
// headers on PutObject, CopyObject and CreateMultipartUpload and on GET/HEAD. A version
// under a legal hold or unexpired retention is not removed by any path (DELETE with
// versionId, DeleteObjects, lifecycle noncurrent expiry): 403 AccessDenied; GOVERNANCE
// yields to x-amz-bypass-governance-retention with s3:BypassGovernanceRetention.
//
// Server access logging (logging.go, accesslog.go): Put/GetBucketLogging with SimplePrefix
// or PartitionedPrefix log object keys. The target must be another existing bucket that
// does not log itself and does not default to SSE-KMS, and its policy must allow the
// service principal logging.s3.amazonaws.com s3:PutObject on <target>/<prefix> for the
// source (aws:SourceArn, aws:SourceAccount): else 403 AccessDenied, checked again at each
// delivery (records the policy no longer allows are dropped). Each request a logged bucket
// serves becomes a record in S3's format; the records are written as one log object, through
// the PutObject path (encrypted at rest as any object), once Config.AccessLogRollTime (5 s)
// has passed since the first: at the next request to the bucket, a background tick, or
// Close. S3 delivers within hours; records buffered when the process dies are lost.
//
// S3 operations not implemented (unimplemented.go; also in the README). Each answers 501
// NotImplemented in S3's XML, naming the operation, after authentication:
//   - PutBucketReplication, DeleteBucketReplication (GetBucketReplication: 404
//     ReplicationConfigurationNotFoundError);
//   - PutBucketWebsite, DeleteBucketWebsite (GetBucketWebsite: 404 NoSuchWebsiteConfiguration);
//   - PutBucketNotificationConfiguration (GetBucketNotificationConfiguration: none);
//   - PutBucketAccelerateConfiguration (GetBucketAccelerateConfiguration: never set);
//   - PutBucketRequestPayment (GetBucketRequestPayment: BucketOwner);
//   - Put/Get/Delete/List of analytics, inventory, metrics and Intelligent-Tiering
//     configurations;
//   - RestoreObject, SelectObjectContent, GetObjectTorrent;
//   - lifecycle Transition and NoncurrentVersionTransition rules (400 InvalidStorageClass:
//     there is one storage class);
//   - anything else S3 has beyond these and the operations of routes.go (directory
//     buckets and CreateSession, Object Lambda, Access Points, S3 Control): any query
//     subresource s3lite does not know answers 501.
//
// The GETs in parentheses answer as S3 does for a configuration never set, because
// infrastructure tools (Terraform's AWS provider) read them on every bucket.
//
// Why hand-written: no maintained Apache/MIT-licensed Go library serves the
// S3 API with SigV4 verification and MinIO-compatible encryption at rest
// (gofakes3 skips signatures and keeps bodies in bolt values; MinIO is
// AGPL). The SSE key schedule is MinIO's on-disk scheme, rewritten from its
// description so objects follow the same construction; the DARE format
// itself comes from sio.
package s3lite
