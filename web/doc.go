// Package web is kmsbox's console: a read-only web UI, served over TLS on its own port
// (the appliance serves [Server.Handler] on 127.0.0.1:9001, where MinIO serves its
// console). It is for workshops and developers who want to see what the three servers
// do: the overview shows the layers S3 -> KES -> vault, and for any object the chain
// page follows
//
//	object -> object key -> data key -> master key -> sealed store
//
// with a live check of every link, so that sealing the vault or deleting a master key
// turns the affected boxes red with the reason. The console never talks to a server
// itself: a [Source], implemented by the appliance, reports everything and does the
// checks; the console renders them and changes nothing.
//
// # Pages and API
//
// routes.go holds every route. The pages are /login, / (overview), /buckets/{bucket}
// (?prefix=; at most 1000 objects, and the Source is asked for 1001 to tell whether
// there are more) and /objects/{bucket}/{key...} (the chain). The JSON API under
// /api/v1/ answers the same data with lowerCamelCase names: status,
// buckets/{bucket}/objects (an object with bucket, prefix, objects and truncated) and
// chain/{bucket}/{key...}; errors are {"error": "..."}. A Source error wrapping
// [ErrNotFound] is 404 "No such bucket or object"; any other is 500 with its text.
// /healthz answers "ok" without a session.
//
// An object key is put in a link with each of its segments path-escaped; a key with an
// empty, "." or ".." segment is escaped as a single segment (its slashes as %2F), since
// browsers and ServeMux would clean such a path into another key.
//
// # Sessions and security
//
// The login takes the S3 root credentials, as MinIO's console does, compared in
// constant time. A login is a random 32-byte token in the cookie "kmsbox_session"
// (HttpOnly, Secure, SameSite=Strict), kept in memory keyed by its SHA-256 and dropped
// after Config.SessionTTL or at logout. Logins are throttled per client (IPv4 address or
// IPv6 /64) with a token bucket of golang.org/x/time/rate: 10 attempts at once, then one
// every 10 seconds; an attempt beyond that is 429 with Retry-After before the credentials
// are compared, and a successful login resets the client's count. Pages without a session
// redirect to /login; the
// API answers 401. Cross-origin writes are refused with 403 by net/http's
// CrossOriginProtection (Sec-Fetch-Site, else Origin against Host). Every answer carries a
// Content-Security-Policy allowing only the console's own stylesheet (there is no
// JavaScript at all), nosniff, no-referrer, and, except for the stylesheet, no-store.
//
// # Why hand-written
//
// MinIO's console is AGPL and a React application, so it cannot be reused. The pages are
// html/template from the standard library, rendered on the server and embedded with
// embed: no JavaScript, no build chain, no dependency, and contextual escaping of every
// key and ciphertext an object store may hold. Sessions are a mutex-guarded map, which
// is all a single-process, in-memory login needs.
package web
