package v2

// LabelOrder creates (and optionally executes) a label printing order.
type LabelOrder struct {
	OrderID           string `json:"order_id"`
	ProductCode       string `json:"product_code"`
	ProductCodeSchema string `json:"product_code_schema"`
	Batch             string `json:"batch"`
	Quantity          *int   `json:"quantity"`
	ExtraLabelAmount  *int   `json:"extra_label_amount,omitempty"`
	ExtraLabelType    string `json:"extra_label_type,omitempty"`
	DestinationTag    string `json:"destination_tag"`
	TemplateTag       string `json:"template_tag"`
	Execute           bool   `json:"execute,omitempty"`
}

// ExtraLabelTypes are the accepted extra_label_type values [inferred: the
// documented sample uses "amount"].
var ExtraLabelTypes = []string{"amount", "percentage"}

// Validate applies the documented field rules.
func (o LabelOrder) Validate() error {
	var c Checker
	c.Required("order_id", o.OrderID)
	c.Printable("order_id", o.OrderID, MaxOrderID)
	c.ZPLSafe("order_id", o.OrderID)
	c.Required("product_code", o.ProductCode)
	c.Schema("product_code_schema", o.ProductCodeSchema)
	if o.ProductCode != "" {
		c.Gtin("product_code", o.ProductCode)
	}
	c.Required("batch", o.Batch)
	if o.Batch != "" {
		c.Cset82("batch", o.Batch, 20)
	}
	switch {
	case o.Quantity == nil:
		c.Fail("quantity", "is required")
	case *o.Quantity < 1 || *o.Quantity > MaxLabels:
		c.Fail("quantity", "must be 1-%d, got %d", MaxLabels, *o.Quantity)
	}
	if o.ExtraLabelAmount != nil {
		switch {
		case *o.ExtraLabelAmount < 0:
			c.Fail("extra_label_amount", "must not be negative, got %d", *o.ExtraLabelAmount)
		case o.ExtraLabelType == "percentage" && *o.ExtraLabelAmount > 100:
			c.Fail("extra_label_amount", "a percentage must be 0-100, got %d", *o.ExtraLabelAmount)
		case *o.ExtraLabelAmount > MaxLabels:
			c.Fail("extra_label_amount", "must be 0-%d, got %d", MaxLabels, *o.ExtraLabelAmount)
		}
		if o.ExtraLabelType == "" {
			c.Fail("extra_label_type", "is required when extra_label_amount is given")
		}
	}
	if o.ExtraLabelType != "" && !oneOf(o.ExtraLabelType, ExtraLabelTypes) {
		c.Fail("extra_label_type", "must be amount or percentage, got %q", o.ExtraLabelType)
	}
	if o.Quantity != nil && !c.Failed("quantity") && !c.Failed("extra_label_amount") {
		if n := o.Labels(0, ""); n > MaxLabels {
			c.Fail("quantity", "with its extra labels the order makes %d labels; at most %d", n, MaxLabels)
		}
	}
	c.Required("destination_tag", o.DestinationTag)
	c.Printable("destination_tag", o.DestinationTag, 255)
	c.Required("template_tag", o.TemplateTag)
	c.Printable("template_tag", o.TemplateTag, 255)
	return c.Result()
}

// The line's limits beyond the service's documented rules.
const (
	// MaxOrderID is the longest order ID, in characters.
	MaxOrderID = 64
	// MaxLabels bounds the labels of one label order, extra labels
	// included.
	MaxLabels = 100000
)

// Labels is how many labels the order makes: its quantity and its extra
// labels, its own or (when it gives none) the channel's default amount and
// type. The sum is computed without overflow: anything above MaxLabels is
// MaxLabels+1.
func (o LabelOrder) Labels(defAmount int, defType string) int {
	if o.Quantity == nil || *o.Quantity < 0 {
		return 0
	}
	q := min(*o.Quantity, MaxLabels+1)
	amount, typ := defAmount, defType
	if o.ExtraLabelAmount != nil {
		amount, typ = *o.ExtraLabelAmount, o.ExtraLabelType
	}
	amount = min(max(amount, 0), MaxLabels+1)
	extra := amount
	if typ == "percentage" {
		extra = (q*amount + 99) / 100
	}
	return min(q+extra, MaxLabels+1)
}

func oneOf(v string, list []string) bool {
	for _, x := range list {
		if v == x {
			return true
		}
	}
	return false
}

// Markets are the market IDs a packaging order may name.
var Markets = []string{"EU", "US", "CHN", "IDN"}

// PackagingOrder is a packaging order, as created and as listed.
type PackagingOrder struct {
	OrderID           string `json:"order_id"`
	OrderDescription  string `json:"order_description,omitempty"`
	ProductCode       string `json:"product_code"`
	ProductCodeSchema string `json:"product_code_schema"`
	Batch             string `json:"batch,omitempty"`
	ExpiryDate        string `json:"expiry_date,omitempty"`
	Quantity          *int   `json:"quantity,omitempty"`
	ExtraPercentage   *int   `json:"extra_percentage,omitempty"`
	Serialized        *bool  `json:"serialized,omitempty"`
	PackagingLineTag  string `json:"packaging_line_tag,omitempty"`
	Market            string `json:"market,omitempty"`
	Status            string `json:"status,omitempty"` // set by the service: Open, Pending release, In progress
}

// Validate applies the documented field rules.
func (o PackagingOrder) Validate() error {
	var c Checker
	c.Required("order_id", o.OrderID)
	c.Printable("order_id", o.OrderID, MaxOrderID)
	c.ZPLSafe("order_id", o.OrderID)
	c.Printable("order_description", o.OrderDescription, 255)
	c.Required("product_code", o.ProductCode)
	if o.ProductCode != "" {
		c.Gtin("product_code", o.ProductCode)
	}
	c.Schema("product_code_schema", o.ProductCodeSchema)
	if o.Batch != "" {
		c.Cset82("batch", o.Batch, 20)
	}
	c.Yymmdd("expiry_date", o.ExpiryDate)
	if o.Quantity != nil && (*o.Quantity < 0 || *o.Quantity > 100000) {
		c.Fail("quantity", "must be 0-100000, got %d", *o.Quantity)
	}
	if o.ExtraPercentage != nil && (*o.ExtraPercentage < 0 || *o.ExtraPercentage > 100) {
		c.Fail("extra_percentage", "must be 0-100, got %d", *o.ExtraPercentage)
	}
	if o.Market != "" && !oneOf(o.Market, Markets) {
		c.Fail("market", "must be EU, US, CHN or IDN, got %q", o.Market)
	}
	c.Printable("packaging_line_tag", o.PackagingLineTag, 255)
	return c.Result()
}

// Commission reports serials as produced [inferred body].
type Commission struct {
	ProductCode       string   `json:"product_code"`
	ProductCodeSchema string   `json:"product_code_schema"`
	Batch             string   `json:"batch,omitempty"`
	ExpiryDate        string   `json:"expiry_date,omitempty"`
	Serials           []string `json:"serials"`
}

// MaxSerials bounds the serials of one commission or decommission call
// [inferred].
const MaxSerials = 10000

// Validate applies the field rules.
func (r Commission) Validate() error {
	var c Checker
	c.Required("product_code", r.ProductCode)
	if r.ProductCode != "" {
		c.Gtin("product_code", r.ProductCode)
	}
	c.Schema("product_code_schema", r.ProductCodeSchema)
	if r.Batch != "" {
		c.Cset82("batch", r.Batch, 20)
	}
	c.Yymmdd("expiry_date", r.ExpiryDate)
	checkSerials(&c, r.Serials)
	return c.Result()
}

func checkSerials(c *Checker, serials []string) {
	if len(serials) == 0 || len(serials) > MaxSerials {
		c.Fail("serials", "must hold 1-%d serials, got %d", MaxSerials, len(serials))
		return
	}
	seen := make(map[string]bool, len(serials))
	for i, s := range serials {
		c.Cset82("serials["+Itoa(i)+"]", s, 20)
		if seen[s] {
			c.Fail("serials["+Itoa(i)+"]", "serial %q is given twice", s)
		}
		seen[s] = true
	}
}

// Itoa formats a non-negative index for field names.
func Itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// Reasons are the documented reasons of decommission.
var Reasons = []string{"destroy", "sample", "free_sample", "check_out", "lock", "export"}

// Decommission takes serials out of the supply chain.
type Decommission struct {
	ProductCode       string   `json:"product_code"`
	ProductCodeSchema string   `json:"product_code_schema"`
	Reason            string   `json:"reason"`
	SendToMarket      *bool    `json:"send_to_market"`
	MarketID          string   `json:"market_id,omitempty"`
	Serials           []string `json:"serials"`
}

// Validate applies the documented field rules.
func (r Decommission) Validate() error {
	var c Checker
	c.Required("product_code", r.ProductCode)
	if r.ProductCode != "" {
		c.Gtin("product_code", r.ProductCode)
	}
	c.Schema("product_code_schema", r.ProductCodeSchema)
	if !oneOf(r.Reason, Reasons) {
		c.Fail("reason", "must be one of destroy, sample, free_sample, check_out, lock, export, got %q", r.Reason)
	}
	if r.SendToMarket == nil {
		c.Fail("send_to_market", "is required (true or false)")
	}
	if r.MarketID != "" && !oneOf(r.MarketID, Markets) {
		c.Fail("market_id", "must be EU, US, CHN or IDN, got %q", r.MarketID)
	}
	checkSerials(&c, r.Serials)
	return c.Result()
}

// TradeItem is a pack in an aggregation.
type TradeItem struct {
	ProductCode       string `json:"product_code"`
	ProductCodeSchema string `json:"product_code_schema"`
	SerialNumber      string `json:"serial_number"`
	Batch             string `json:"batch,omitempty"`
	ExpiryDate        string `json:"expiry_date,omitempty"`
}

// Aggregation puts packs (child_trade_items) or containers
// (child_containers) in a parent container. Disaggregation removes them.
type Aggregation struct {
	Parent          string      `json:"parent"`
	ChildTradeItems []TradeItem `json:"child_trade_items,omitempty"`
	ChildContainers []string    `json:"child_containers,omitempty"`
}

// MaxChildren bounds one aggregation call [inferred].
const MaxChildren = 10000

// Validate applies the field rules.
func (a Aggregation) Validate() error {
	var c Checker
	c.Required("parent", a.Parent)
	if a.Parent != "" {
		c.Sscc("parent", a.Parent)
	}
	n := len(a.ChildTradeItems) + len(a.ChildContainers)
	switch {
	case n == 0:
		c.Fail("child_trade_items", "give at least one child (child_trade_items or child_containers)")
	case len(a.ChildTradeItems) > 0 && len(a.ChildContainers) > 0:
		c.Fail("child_containers", "give packs or containers, not both, in one call")
	case n > MaxChildren:
		c.Fail("child_trade_items", "at most %d children, got %d", MaxChildren, n)
	}
	for i, it := range a.ChildTradeItems {
		f := "child_trade_items[" + Itoa(i) + "]."
		c.Required(f+"product_code", it.ProductCode)
		if it.ProductCode != "" {
			c.Gtin(f+"product_code", it.ProductCode)
		}
		c.Schema(f+"product_code_schema", it.ProductCodeSchema)
		c.Cset82(f+"serial_number", it.SerialNumber, 20)
		if it.Batch != "" {
			c.Cset82(f+"batch", it.Batch, 20)
		}
		c.Yymmdd(f+"expiry_date", it.ExpiryDate)
	}
	for i, s := range a.ChildContainers {
		c.Sscc("child_containers["+Itoa(i)+"]", s)
		if s == a.Parent {
			c.Fail("child_containers["+Itoa(i)+"]", "a container cannot hold itself")
		}
	}
	return c.Result()
}

// SerialStatus is one serial in a decommission answer.
type SerialStatus struct {
	SerialNumber string `json:"serial_number"`
	Status       string `json:"status"`
}
