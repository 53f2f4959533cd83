package epcis

import (
	"fmt"
	"strings"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Syntax is how identifiers are written.
type Syntax uint8

const (
	// DigitalLink writes GS1 Digital Link URIs on https://id.gs1.org, the
	// EPCIS 2.0 default: https://id.gs1.org/01/09506000134352/21/ABC.
	DigitalLink Syntax = iota
	// URN writes EPC pure identity URIs: urn:epc:id:sgtin:9506000.013435.ABC.
	// They need the length of the GS1 Company Prefix.
	URN
)

// IDs builds the EPCs of the line's objects and places.
type IDs struct {
	Syntax Syntax
	// CompanyPrefixLength is the number of digits of the GS1 Company
	// Prefix in the line's GTINs, SSCCs and GLNs (6 to 12). URNs need it;
	// Digital Links do not.
	CompanyPrefixLength int
}

func (c IDs) prefixLength() error {
	if c.CompanyPrefixLength < 6 || c.CompanyPrefixLength > 12 {
		return fmt.Errorf("epcis: an EPC URN needs the GS1 Company Prefix length, 6 to 12 digits, got %d", c.CompanyPrefixLength)
	}
	return nil
}

// SGTIN is the EPC of a pack: its GTIN (8, 12, 13 or 14 digits, check
// digit verified) and serial (AI 21: 1 to 20 characters of GS1 character
// set 82). In a Digital Link the serial is percent-encoded as GS1 Digital
// Link requires (every character but A-Z a-z 0-9 - . _ ~); in a URN the
// characters an EPC URI may not hold (" % & / < > ?) are escaped.
func (c IDs) SGTIN(gtin, serial string) (string, error) {
	g, err := gs1.GTIN14(gtin)
	if err != nil {
		return "", fmt.Errorf("epcis: GTIN %q: %w", gtin, err)
	}
	if err := gs1.ValidateElement("21", serial); err != nil {
		return "", fmt.Errorf("epcis: serial %q: %w", serial, err)
	}
	if c.Syntax == URN {
		if err := c.prefixLength(); err != nil {
			return "", err
		}
		n := c.CompanyPrefixLength
		return "urn:epc:id:sgtin:" + g[1:1+n] + "." + g[:1] + g[1+n:13] + "." + escapeURN(serial), nil
	}
	return digitalLink(gs1.Element{AI: "01", Value: g}, gs1.Element{AI: "21", Value: serial})
}

// SSCC is the EPC of a case or pallet: its 18-digit SSCC, check digit verified.
func (c IDs) SSCC(sscc string) (string, error) {
	if len(sscc) != 18 || !allDigits(sscc) {
		return "", fmt.Errorf("epcis: SSCC %q: an SSCC has 18 digits", sscc)
	}
	if !gs1.ValidCheckDigit(sscc) {
		return "", fmt.Errorf("epcis: SSCC %s: incorrect check digit", sscc)
	}
	if c.Syntax == URN {
		if err := c.prefixLength(); err != nil {
			return "", err
		}
		n := c.CompanyPrefixLength
		return "urn:epc:id:sscc:" + sscc[1:1+n] + "." + sscc[:1] + sscc[1+n:17], nil
	}
	return digitalLink(gs1.Element{AI: "00", Value: sscc})
}

// SGLN is the EPC of a place: its 13-digit GLN, check digit verified, and
// an optional extension (AI 254) naming a part of it, such as a line. An
// empty extension or "0" is the GLN itself.
func (c IDs) SGLN(gln, extension string) (string, error) {
	if len(gln) != 13 || !allDigits(gln) {
		return "", fmt.Errorf("epcis: GLN %q: a GLN has 13 digits", gln)
	}
	if !gs1.ValidCheckDigit(gln) {
		return "", fmt.Errorf("epcis: GLN %s: incorrect check digit", gln)
	}
	if extension == "0" {
		extension = ""
	}
	if extension != "" {
		if err := gs1.ValidateElement("254", extension); err != nil {
			return "", fmt.Errorf("epcis: GLN extension %q: %w", extension, err)
		}
	}
	if c.Syntax == URN {
		if err := c.prefixLength(); err != nil {
			return "", err
		}
		ext := "0"
		if extension != "" {
			ext = escapeURN(extension)
		}
		n := c.CompanyPrefixLength
		return "urn:epc:id:sgln:" + gln[:n] + "." + gln[n:12] + "." + ext, nil
	}
	els := []gs1.Element{{AI: "414", Value: gln}}
	if extension != "" {
		els = append(els, gs1.Element{AI: "254", Value: extension})
	}
	return digitalLink(els...)
}

func digitalLink(els ...gs1.Element) (string, error) {
	if err := gs1.Validate(els); err != nil {
		return "", fmt.Errorf("epcis: %w", err)
	}
	m := gs1.Message{Elements: els}
	return m.DigitalLinkURI("https://id.gs1.org")
}

// escapeURN escapes the characters of GS1 character set 82 that an EPC URI
// component may not hold bare (EPC Tag Data Standard, pure identity URIs).
var escapeURN = strings.NewReplacer(`"`, "%22", "%", "%25", "&", "%26", "/", "%2F", "<", "%3C", ">", "%3E", "?", "%3F").Replace

// BizTransactionID writes a business transaction identifier in the CBV
// private form urn:epcglobal:cbv:bt:<GLN or PGLN>:<ID> (CBV 2.0),
// for an order or shipment that has no GS1 key of its own.
func BizTransactionID(gln, id string) (string, error) {
	if len(gln) != 13 || !allDigits(gln) || !gs1.ValidCheckDigit(gln) {
		return "", fmt.Errorf("epcis: business transaction owner %q is not a GLN", gln)
	}
	if id == "" {
		return "", fmt.Errorf("epcis: business transaction of %s has no identifier", gln)
	}
	return "urn:epcglobal:cbv:bt:" + gln + ":" + escapeURN(id), nil
}
