# The policy a current KES needs on a K/V v2 engine mounted at kvv2/: entries
# are written and read under data/, deleted and listed under metadata/.
path "kvv2/data/minio/*" {
  capabilities = ["create","read"]
}
path "kvv2/metadata/minio/*" {
  capabilities = ["read","delete","list"]
}
