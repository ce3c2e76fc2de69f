path "kv/minio/*" {
  capabilities = ["create","read","delete"]
}
