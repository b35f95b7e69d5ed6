package mail_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

func ExampleParseSMTPURL() {
	c, err := mail.ParseSMTPURL("smtp://mailer:s%40cret@smtp.example.com:587?starttls=required")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Address(), c.Username, c.RequireTLS)
	fmt.Println(c.Redacted())
	_, err = mail.ParseSMTPURL("smtp://smtp.example.com:0")
	fmt.Println(err)
	// Output:
	// smtp.example.com:587 mailer true
	// smtp://mailer:xxxxx@smtp.example.com:587?starttls=required
	// mail: bad SMTP URL: port "0": want a number from 1 to 65535
}

func ExampleTemplates_Render() {
	tpl, err := mail.LoadTemplates(mail.TemplateConfig{ProductName: "Acme ID", Issuer: "https://id.example.com"})
	if err != nil {
		panic(err)
	}
	m, err := tpl.Render(mail.KindVerifyEmail, "alice@example.com", mail.Data{
		Email: "alice@example.com", Secret: "9sJ3kQ0vX1bN7mZ2cR5tW8yA", ExpiresIn: 24 * time.Hour,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Subject)
	for _, line := range strings.Split(m.Text, "\n") {
		if strings.Contains(line, "token=") {
			fmt.Println(line)
		}
	}
	// Output:
	// Confirm your email address for Acme ID
	// https://id.example.com/verify?token=9sJ3kQ0vX1bN7mZ2cR5tW8yA
}
