package passkey

import (
	"encoding/hex"
	"strconv"
)

// knownAuthenticators names the authenticators most passkeys come from,
// by AAGUID (from the community list
// github.com/passkeydeveloper/passkey-authenticator-aaguids, which exists
// to name passkeys in account settings and nothing more).
var knownAuthenticators = map[string]string{
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
	"531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
}

// DefaultName returns the name of a passkey registered without one: the
// authenticator's name when its AAGUID is a well-known one, else
// "Passkey n" (n counts the user's passkeys, this one included).
func DefaultName(aaguid []byte, n int) string {
	if name, ok := knownAuthenticators[formatAAGUID(aaguid)]; ok {
		return name
	}
	return "Passkey " + strconv.Itoa(n)
}

// formatAAGUID writes a 16-byte AAGUID as a lower-case UUID string; ""
// for another length.
func formatAAGUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
