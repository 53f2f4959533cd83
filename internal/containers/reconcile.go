package containers

import "database/sql"

// Packing is where the packs of one label order are, for the order's
// reconciliation: in cases (closed, or still open at a station), and those
// cases on pallets.
type Packing struct {
	// PacksInClosedCases are aggregated: in cases whose aggregation is
	// reported; ClosedCases counts those cases.
	PacksInClosedCases int `json:"packs_in_closed_cases"`
	ClosedCases        int `json:"closed_cases"`
	// PacksInOpenCases are in cases still being filled.
	PacksInOpenCases int `json:"packs_in_open_cases"`
	OpenCases        int `json:"open_cases"`
	// PacksOnPallets are in cases on closed pallets: CasesOnPallets cases
	// on Pallets pallets.
	PacksOnPallets int `json:"packs_on_pallets"`
	CasesOnPallets int `json:"cases_on_pallets"`
	Pallets        int `json:"pallets"`
	// OutOfCirculation counts packs decommissioned or voided that are in
	// a container all the same: none, when the rules held.
	OutOfCirculation int `json:"out_of_circulation_in_containers"`
}

// OrderPacking reads, inside tx, where the packs of a label order are.
// Cases of a packaging order may hold packs of several label orders (of the
// same batch): only this order's packs are counted, and the cases and
// pallets that hold at least one of them.
func OrderPacking(tx *sql.Tx, orderID string) (Packing, error) {
	var p Packing
	rows, err := tx.Query(`SELECT c.state, COUNT(*), COUNT(DISTINCT c.sscc) FROM labels l
		JOIN container_items ci ON ci.gtin = l.gtin AND ci.serial = l.serial
		JOIN containers c ON c.sscc = ci.sscc
		WHERE l.order_id = ? AND l.kind = 'pack' GROUP BY c.state`, orderID)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var st State
		var packs, cases int
		if err := rows.Scan(&st, &packs, &cases); err != nil {
			rows.Close()
			return p, err
		}
		switch st {
		case Closed:
			p.PacksInClosedCases, p.ClosedCases = packs, cases
		case Open:
			p.PacksInOpenCases, p.OpenCases = packs, cases
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}
	if err := tx.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT ci.sscc), COUNT(DISTINCT pi.sscc) FROM labels l
		JOIN container_items ci ON ci.gtin = l.gtin AND ci.serial = l.serial
		JOIN container_items pi ON pi.child = ci.sscc
		JOIN containers pc ON pc.sscc = pi.sscc AND pc.state = 'closed'
		WHERE l.order_id = ? AND l.kind = 'pack'`, orderID).Scan(&p.PacksOnPallets, &p.CasesOnPallets, &p.Pallets); err != nil {
		return p, err
	}
	err = tx.QueryRow(`SELECT COUNT(*) FROM labels l
		JOIN container_items ci ON ci.gtin = l.gtin AND ci.serial = l.serial
		LEFT JOIN serials s ON s.gtin = l.gtin AND s.serial = l.serial
		WHERE l.order_id = ? AND l.kind = 'pack' AND (l.state = 'voided' OR s.state = 'decommissioned')`, orderID).Scan(&p.OutOfCirculation)
	return p, err
}
