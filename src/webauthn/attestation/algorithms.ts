/**
 * COSE algorithms Sesame accepts for new credentials, in the order registration options offer them
 * (authenticators take the first they support): ES256 first, because nearly every authenticator has
 * it and its keys and signatures are small; EdDSA (-8, and the fully specified Ed25519 -19 and Ed448
 * -53) next; then RS256, which Windows Hello needs; the other ECDSA, RSASSA-PSS and PKCS#1 v1.5
 * variants; RS1 last, for older Windows Hello TPM keys.
 *
 * ML-DSA (COSE -48/-49/-50) is neither offered nor accepted: Sesame runs on Node.js 20, whose
 * crypto cannot verify it, and a registration with such a key is refused with "unexpected public
 * key alg". When Sesame requires a Node.js that verifies ML-DSA it belongs last in this list: a
 * larger, slower key is no gain while classical algorithms are sound.
 */
export const SUPPORTED_ALGORITHMS: number[] = [-7, -8, -19, -53, -257, -35, -36, -37, -38, -39, -258, -259, -65535];
