package mail

import (
	"context"
	"errors"
)

// Message is one rendered mail, ready to send to one recipient.
type Message struct {
	// ID is unique per mail; it is the local part of the Message-ID
	// header and names the mail in logs, in the outbox and in the dev
	// mailbox's file names.
	ID string `json:"id"`
	// Kind is the template the mail was rendered from (KindVerifyEmail…).
	Kind Kind `json:"kind"`
	// To is the recipient's address.
	To string `json:"to"`
	// Subject is the Subject header, one line.
	Subject string `json:"subject"`
	// Text and HTML are the plain-text and HTML parts.
	Text string `json:"text"`
	HTML string `json:"html"`
}

// A Sender delivers one message. It reports an error wrapping
// ErrPermanent when retrying cannot help (the server refused the
// recipient or the message with a 5xx reply); any other error is worth
// retrying later.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a delivery failure that a retry would repeat: a 5xx
// SMTP reply to MAIL FROM, RCPT TO or DATA, or a message that cannot be
// opened.
var ErrPermanent = errors.New("mail: permanent delivery failure")
