package zpl

import "strings"

// knownCommands are the ZPL II commands of the Zebra Programming Guide.
var knownCommands = func() map[string]bool {
	const caret = "A A@ B0 B1 B2 B3 B4 B5 B7 B8 B9 BA BB BC BD BE BF BI BJ BK BL BM BO BP BQ BR BS BT BU BX BY BZ " +
		"CC CD CF CI CM CN CO CP CT CV CW DF FA FB FC FD FE FH FL FM FN FO FP FR FS FT FV FW FX " +
		"GB GC GD GE GF GS HF HG HH HT HV HW HY HZ ID IL IM IS JB JH JI JJ JM JS JT JU JW JZ " +
		"KD KL KN KP KV LF LH LL LR LS LT MA MC MD MF MI ML MM MN MP MT MU MW NB NC NI NN NP NS NT NW " +
		"PA PF PH PL PM PN PP PQ PR PS PW RA RB RF RI RL RM RN RQ RR RS RT RU RW RZ " +
		"SC SE SF SI SL SN SO SP SQ SR SS ST SX SZ TB TO WA WD WE WF WI WL WP WR WS WT WV WX XA XB XF XG XS XZ ZZ"
	const tilde = "CC CD CT DB DE DG DN DS DT DU DY EG HB HD HI HM HQ HS HU JA JB JC JD JE JF JG JI JL JN JO JP JQ JR JS JX " +
		"KB NC NR NT PH PL PP PR PS RO RV SD TA WC WQ WR"
	m := map[string]bool{}
	for _, c := range strings.Fields(caret) {
		m["^"+c] = true
	}
	for _, c := range strings.Fields(tilde) {
		m["~"+c] = true
	}
	return m
}()
