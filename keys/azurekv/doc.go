// Package azurekv is the Azure Key Vault key backend of pkjwt (scheme
// "azurekv"). [Backend] implements [keys.Backend]: [New] makes one (a key
// directory's Backends take it, to load the keys the directory records by
// reference), and it offers the two ways a Key Vault holds a client's key:
//
//   - A Key Vault key, azurekv://VAULT/keys/NAME[/VERSION]: the private key
//     never leaves the vault. [Backend.Open] fetches the public key once
//     (GetKey) and returns a signer, also a [keys.ContextSigner], whose
//     Sign calls Key Vault's sign operation (RS512 for NHS England) for the
//     key version fetched at Open, within a deadline of its own
//     ([WithSignTimeout]). [Backend.Create] makes such a key for rotation.
//   - A secret holding a PFX, azurekv://VAULT/secrets/NAME[/VERSION]: the
//     way the original .NET sample keeps its key (secret
//     JWT--PubPrivateKeyBase64, the base64 of a PFX with an empty password).
//     [Backend.OpenSecret] returns the private key, in memory, and its
//     certificate; Open returns the private key alone.
//
// [Backend.LoadConfig] reads the client id, token URL and API URL from the
// vault's secrets, under the sample's names or pkjwt's own, into a
// [Config], so an application can move from the sample keeping its vault
// as it is. docs/azure-key-vault.md is the migration guide.
//
// Credentials are azidentity.NewDefaultAzureCredential unless
// [WithCredential] gives another azcore.TokenCredential. A malformed
// reference is [ErrBadRef]; a failed Key Vault call unwraps, for errors.Is,
// to the [keys] sentinels ([keys.ErrPermissionDenied],
// [keys.ErrKeyDisabled], [keys.ErrWrongKeyUsage], [keys.ErrThrottled],
// [keys.ErrNotFound], [keys.ErrRemoteTimeout]) and, when Key Vault
// answered, to the SDK's *azcore.ResponseError; its message holds the
// operation, the reference, the HTTP status, Key Vault's error codes and a
// clipped copy of its message. Every answer body is read through a 1 MiB
// bound.
//
// Testing: no Key Vault emulator runs offline, so this package's tests run
// against the Azure SDK's own fake servers (azkeys/fake and azsecrets/fake,
// passed in as the client transport with [WithClientOptions]). Everything
// from the SDK client call onward (request building, the Key Vault
// authentication challenge, response and error decoding) is the SDK's
// production path; the fakes replace only the vault at the other end, and
// their sign handler signs with a real RSA key the test holds.
package azurekv
