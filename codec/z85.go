package codec

// Z85 (ZeroMQ rfc 32) is the text form of CURVE keys: every 4 bytes become 5 printable characters,
// so a 32-byte key is 40 characters that survive a config file or a command line. It is a codec of
// its own, not a wire parser: keys never travel in Z85 on the wire.

const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

// z85Value maps a character back to its digit; 0xFF marks a character outside the alphabet.
var z85Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(z85Alphabet); i++ {
		t[z85Alphabet[i]] = byte(i)
	}
	return t
}()

// Z85EncodedLen is the length of the Z85 text of n bytes (n a multiple of 4).
func Z85EncodedLen(n int) int { return n / 4 * 5 }

// Z85DecodedLen is the length of the bytes that n characters of Z85 text decode to (n a multiple of 5).
func Z85DecodedLen(n int) int { return n / 5 * 4 }

// AppendZ85 appends the Z85 text of src to dst. src's length must be a multiple of 4 (rfc 32
// leaves padding to the application); otherwise dst is returned unchanged with ErrZ85. It does not
// allocate when dst has room. Safe for concurrent use.
func AppendZ85(dst, src []byte) ([]byte, error) {
	if len(src)%4 != 0 {
		return dst, errZ85Length
	}
	for i := 0; i < len(src); i += 4 {
		v := uint32(src[i])<<24 | uint32(src[i+1])<<16 | uint32(src[i+2])<<8 | uint32(src[i+3])
		var chunk [5]byte
		for j := 4; j >= 0; j-- {
			chunk[j] = z85Alphabet[v%85]
			v /= 85
		}
		dst = append(dst, chunk[:]...)
	}
	return dst, nil
}

// AppendZ85Decode appends the bytes that the Z85 text src encodes to dst. src's length must be a
// multiple of 5, every character must be in rfc 32's alphabet and every 5-character group must
// encode a value below 2^32; otherwise dst is returned unchanged with an error matching ErrZ85.
// Checked whole before anything is appended. Safe for concurrent use.
func AppendZ85Decode(dst, src []byte) ([]byte, error) {
	if len(src)%5 != 0 {
		return dst, errZ85Length
	}
	for i := 0; i < len(src); i += 5 {
		if _, ok := z85Group(src[i : i+5]); !ok {
			return dst, errZ85Char
		}
	}
	for i := 0; i < len(src); i += 5 {
		v, _ := z85Group(src[i : i+5])
		dst = append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return dst, nil
}

// z85Group decodes one 5-character group; ok is false for a character outside the alphabet or a
// value that does not fit 32 bits ("%%%%%" would be 85^5-1).
func z85Group(g []byte) (uint32, bool) {
	var v uint64
	for _, c := range g {
		d := z85Value[c]
		if d == 0xFF {
			return 0, false
		}
		v = v*85 + uint64(d)
	}
	if v > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(v), true
}
