// Package checksum computes and checks S3 integrity values: the additional checksums
// (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), multipart composite checksums and Content-MD5.
package checksum
