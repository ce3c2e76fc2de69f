# The guide's policy plus "list", which a current KES needs for /v1/key/list
# (vault-api.md section 8: the minimal policy for KES on K/V v1).
path "kv/minio/*" {
  capabilities = ["create","read","delete","list"]
}
