package codec

import "encoding/binary"

// Command names defined by ZMTP 3.1 and its NULL mechanism.
const (
	CmdReady     = "READY"
	CmdError     = "ERROR"
	CmdPing      = "PING"
	CmdPong      = "PONG"
	CmdSubscribe = "SUBSCRIBE"
	CmdCancel    = "CANCEL"
)

// MaxPingContext is the longest PING context zloop sends or echoes (libzmq's
// limit; the spec allows any length).
const MaxPingContext = 16

const (
	maxNameLen  = 255
	maxValueLen = 1<<31 - 1 // spec: metadata values are 0 to 2^31-1 octets
)

// Command is a decoded command frame body. Name and Data alias the body given
// to ParseCommand and are valid as long as it is.
type Command struct {
	Name []byte
	Data []byte
}

// Is reports whether the command's name is exactly name (case-sensitive, as
// libzmq compares command names). It does not allocate.
func (c Command) Is(name string) bool { return string(c.Name) == name }

// ParseCommand splits a command frame's body (the h.Size bytes after a header
// with FlagCommand) into name and data. The name must be 1 to 255 ASCII
// letters, as the spec's grammar says. Because body is a whole frame body, a
// name running past its end is a *ProtocolError (ErrMalformed), not ErrShort.
//
// Safe for concurrent use; does not allocate on success. Name and Data alias
// body.
func ParseCommand(body []byte) (Command, error) {
	if len(body) == 0 {
		return Command{}, protoErr(opCommand, errCmdEmpty)
	}
	n := int(body[0])
	if n == 0 {
		return Command{}, protoErr(opCommand, errCmdNameEmpty)
	}
	if len(body)-1 < n {
		return Command{}, protoErr(opCommand, errCmdNameShort)
	}
	name := body[1 : 1+n : 1+n]
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return Command{}, protoErr(opCommand, errCmdNameChar)
		}
	}
	return Command{Name: name, Data: body[1+n:]}, nil
}

// AppendCommand appends a whole command frame: header, name and data. A name
// longer than 255 bytes is cut to 255; an empty name or one that is not ASCII
// letters produces a frame peers will refuse. It does not allocate when dst
// has room for the frame.
func AppendCommand(dst []byte, name string, data []byte) []byte {
	name = cutName(name)
	dst = AppendFrameHeader(dst, FlagCommand, 1+len(name)+len(data))
	return AppendCommandBody(dst, name, data)
}

// AppendCommandBody appends a command's body alone, name and data, for a transport that frames
// commands itself (ZWS 2.0 carries each in a WebSocket message). AppendCommand is its ZMTP frame;
// every Append...Body below pairs with the frame encoder of the same name the same way.
func AppendCommandBody(dst []byte, name string, data []byte) []byte {
	name = cutName(name)
	dst = append(dst, byte(len(name)))
	dst = append(dst, name...)
	return append(dst, data...)
}

func cutName(name string) string {
	if len(name) > maxNameLen {
		return name[:maxNameLen]
	}
	return name
}

// AppendReady appends a whole READY command frame carrying props as metadata.
func AppendReady(dst []byte, props ...Property) []byte {
	return AppendMetadataCommand(dst, CmdReady, props...)
}

// AppendMetadataCommand appends a whole command frame named name whose data is props as metadata
// (READY, or PLAIN's INITIATE), sized up front so the metadata is written straight into dst.
func AppendMetadataCommand(dst []byte, name string, props ...Property) []byte {
	name = cutName(name)
	dst = AppendFrameHeader(dst, FlagCommand, 1+len(name)+MetadataLen(props...))
	return AppendMetadataCommandBody(dst, name, props...)
}

// AppendMetadataCommandBody is the body of AppendMetadataCommand's frame.
func AppendMetadataCommandBody(dst []byte, name string, props ...Property) []byte {
	name = cutName(name)
	dst = append(dst, byte(len(name)))
	dst = append(dst, name...)
	return AppendMetadata(dst, props...)
}

// AppendError appends a whole ERROR command frame. The reason is cut to 255
// bytes, the most its 1-byte length can describe.
func AppendError(dst []byte, reason string) []byte {
	reason = cutName(reason)
	dst = AppendFrameHeader(dst, FlagCommand, 1+len(CmdError)+1+len(reason))
	return AppendErrorBody(dst, reason)
}

// AppendErrorBody is the body of AppendError's frame.
func AppendErrorBody(dst []byte, reason string) []byte {
	reason = cutName(reason)
	dst = append(dst, byte(len(CmdError)))
	dst = append(dst, CmdError...)
	dst = append(dst, byte(len(reason)))
	return append(dst, reason...)
}

// ParseError decodes the data of an ERROR command (Command.Data). Bytes after
// the reason are ignored, as libzmq ignores them. The reason aliases data.
func ParseError(data []byte) (reason []byte, err error) {
	if len(data) == 0 || len(data)-1 < int(data[0]) {
		return nil, protoErr(opCommand, errErrorShort)
	}
	n := 1 + int(data[0])
	return data[1:n:n], nil
}

// AppendPing appends a whole PING command frame. ttlDeciseconds asks the peer
// to drop the connection when it hears nothing from us for that long (0: no
// hint). A context longer than MaxPingContext is cut to MaxPingContext bytes.
func AppendPing(dst []byte, ttlDeciseconds uint16, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	dst = AppendFrameHeader(dst, FlagCommand, 1+len(CmdPing)+2+len(context))
	return AppendPingBody(dst, ttlDeciseconds, context)
}

// AppendPingBody is the body of AppendPing's frame.
func AppendPingBody(dst []byte, ttlDeciseconds uint16, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	dst = append(dst, byte(len(CmdPing)))
	dst = append(dst, CmdPing...)
	dst = binary.BigEndian.AppendUint16(dst, ttlDeciseconds)
	return append(dst, context...)
}

// ParsePing decodes the data of a PING command (Command.Data). The spec lets
// the context be any length; like libzmq, ParsePing keeps only its first
// MaxPingContext bytes, so that echoing it in a PONG stays bounded. The
// context aliases data. Does not allocate on success.
func ParsePing(data []byte) (ttlDeciseconds uint16, context []byte, err error) {
	if len(data) < 2 {
		return 0, nil, protoErr(opCommand, errPingShort)
	}
	context = data[2:]
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext:MaxPingContext]
	}
	return binary.BigEndian.Uint16(data), context, nil
}

// AppendPong appends a whole PONG command frame echoing a PING's context, cut
// to MaxPingContext bytes. A PONG's Command.Data is its context.
func AppendPong(dst []byte, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	return AppendCommand(dst, CmdPong, context)
}

// AppendSubscribe appends a whole SUBSCRIBE command frame for topic (a prefix
// match; empty matches everything). A SUBSCRIBE's Command.Data is its topic.
// ZMTP 3.0 peers need the 0x01+topic data frame instead.
func AppendSubscribe(dst []byte, topic []byte) []byte {
	return AppendCommand(dst, CmdSubscribe, topic)
}

// AppendCancel appends a whole CANCEL command frame for topic. ZMTP 3.0 peers
// need the 0x00+topic data frame instead.
func AppendCancel(dst []byte, topic []byte) []byte {
	return AppendCommand(dst, CmdCancel, topic)
}
