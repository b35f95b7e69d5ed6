// Package mail renders and delivers the mails of the account lifecycle
// (email verification, password recovery, change notices).
//
// It owns four pieces:
//
//   - Templates: the text and HTML parts of each mail, from embedded
//     defaults an operator can override file by file (--mail-templates).
//     A bad override fails at start-up, never at send time.
//   - Senders: SMTPSender (github.com/wneessen/go-mail; STARTTLS,
//     implicit TLS, AUTH PLAIN/LOGIN, timeouts), configured from an
//     smtp:// or smtps:// URL (ParseSMTPURL), and Mailbox, the
//     development sender used without --smtp-url, which logs each mail
//     and writes it as an .eml file.
//   - Queue: seals rendered messages into store.OutboxMail records, so
//     that a caller enqueues them in the database, in the same transaction
//     as the one-time token the mail carries if it wants to.
//   - Worker: claims due mails from the durable outbox under a lease,
//     sends them, and retries failures with exponential backoff and
//     jitter until a maximum number of attempts, so that several
//     instances never send one mail twice and a crash after the enqueue
//     still sends.
package mail
