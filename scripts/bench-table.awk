# Turns "go test -bench" output into one table: each figure, the value
# measured, the anchor it is measured against in the same run (where it has
# one), their ratio, the goal and whether it is met.
# Usage: awk -f bench-table.awk bench.txt
function metric(unit,    i) { for (i = 1; i <= NF; i++) if ($i == unit) return $(i-1); return "" }
function allocs() { return metric("allocs/op") }
# The sub-benchmark's name without the -GOMAXPROCS suffix.
function name() { n = $1; sub(/-[0-9]+$/, "", n); return n }

name() == "BenchmarkParseAgainstEngine/pack-datamatrix" { gp = metric("scans/s"); ep = metric("engine-scans/s"); rp = metric("go/engine"); ap = allocs() }
name() == "BenchmarkParseAgainstEngine/sscc-gs1-128" { gs = metric("scans/s"); es = metric("engine-scans/s"); rs = metric("go/engine"); as = allocs() }
name() == "BenchmarkParseAgainstEngine/digital-link" { gd = metric("scans/s"); ed = metric("engine-scans/s"); rd = metric("go/engine"); ad = allocs() }
name() == "BenchmarkParseAgainstEngine/engine-tests" { agree = metric("agree"); disagree = metric("disagree"); scope = metric("out-of-scope") }
name() == "BenchmarkParse/reused/pack-datamatrix" { parse = metric("scans/s"); parseAllocs = allocs() }
/^BenchmarkRenderPack/ { if ($1 ~ /TextTemplate/) tt = metric("labels/s"); else { zpl = metric("labels/s"); zplAllocs = allocs() } }
/^BenchmarkPreviewPack/ { preview = metric("ms/label") }
/^BenchmarkLabelOrderAgainstCUPS/ { agentL = metric("agent-labels/s"); cupsL = metric("cups-labels/s"); cupsR = metric("ratio") }
name() == "BenchmarkJob10k/printers-1" { job1 = metric("µs/label"); jobCommit = metric("commit-µs"); jobCommits = metric("commits/label") }
name() == "BenchmarkJob10k/printers-4" { job4 = metric("µs/label") }
/^BenchmarkRunnerOverhead10k/ { runner = metric("ns/label") }
/^BenchmarkFrameDecode/ { frame = metric("scans/s") }
/^BenchmarkScanLatency/ { scanP99 = metric("p99-µs") }
/^BenchmarkEmulatorCommission/ { emu = emu (emu == "" ? "" : " / ") sprintf("%.0f", metric("req/s")) }
/^BenchmarkEnqueue\// { group = metric("group-items/s"); one = metric("one-row-items/s"); groupR = metric("group/one-row") }
/^BenchmarkDrain1M/ { drain = metric("s/1M-serials"); drainRSS = metric("peak-RSS-MiB"); drainCPU = metric("agent-CPU-s") }
/^BenchmarkStationVerdicts\/paced/ { sp50 = metric("p50-µs"); sp99 = metric("p99-µs"); cp99 = metric("commit-p99-µs"); sratio = metric("p99-ratio"); sruns = metric("runs"); ssamples = metric("samples/run") }
/^BenchmarkStationVerdicts\/max/ { smax = metric("verdicts/s"); spc = metric("verdicts/commit") }
/^BenchmarkStationVerdicts\/sql-per-pack/ { ssql = metric("sql-µs/pack"); sstmts = metric("statements/pack"); scommit = metric("commit-µs/pack") }
/^BenchmarkOverview\// {
	# Each page on a line of 10 M serials, against itself on a line of 10 k
	# in the same loop.
	split(name(), part, "/"); page = part[2]
	if (!(page in big)) pages[++npages] = page
	big[page] = metric("ms/render"); small[page] = metric("anchor-ms/render"); serials[page] = metric("serials")
}
/^BenchmarkAgentStart/ { ready = metric("ms-to-ready"); readyMax = metric("max-ms-to-ready"); starts = metric("starts"); rss = metric("idle-RSS-MiB") }
function row(figure, value, anchor, ratio, goal, ok) {
	if (value == "" || value ~ /^[ \/]*$/) { value = "not run"; ok = "" }
	printf "| %s | %s | %s | %s | %s | %s |\n", figure, value, anchor, ratio, goal, ok == "" ? "" : (ok ? "yes" : "**no**")
}
function x(a, b) { return b > 0 ? sprintf("%.2f×", a / b) : "" }
END {
	print "| figure | measured | anchor (same run) | ratio | goal | met |"
	print "|---|---|---|---|---|---|"
	row("GS1 parse, pack DataMatrix scan (one core)", gp == "" ? "" : sprintf("%.0f scans/s, %s allocs", gp, ap), ep == "" ? "" : sprintf("GS1 Syntax Engine %.0f scans/s", ep), rp == "" ? "" : sprintf("%.2f×", rp), "≥ 1.0×, 0 allocs", rp != "" && rp + 0 >= 1 && ap + 0 == 0)
	row("GS1 parse, SSCC GS1-128 scan (one core)", gs == "" ? "" : sprintf("%.0f scans/s, %s allocs", gs, as), es == "" ? "" : sprintf("engine %.0f scans/s", es), rs == "" ? "" : sprintf("%.2f×", rs), "≥ 1.0×", rs != "" && rs + 0 >= 1)
	row("GS1 parse, Digital Link scan (one core)", gd == "" ? "" : sprintf("%.0f scans/s, %s allocs", gd, ad), ed == "" ? "" : sprintf("engine %.0f scans/s", ed), rd == "" ? "" : sprintf("%.2f×", rd), "≥ 1.0×", rd != "" && rd + 0 >= 1)
	row("GS1 parse, the engine's own scan-data tests", agree == "" ? "" : sprintf("%d agree, %d out of scope", agree, scope), "the engine's verdicts", "", "0 disagree", agree != "" && disagree + 0 == 0)
	row("GS1 parse into a reused message (one core)", parse == "" ? "" : sprintf("%.0f scans/s, %s allocs", parse, parseAllocs), "", "", "0 allocs", parse != "" && parseAllocs + 0 == 0)
	row("pack label render, zpl (one core)", zpl == "" ? "" : sprintf("%.0f labels/s, %s allocs", zpl, zplAllocs), tt == "" ? "" : sprintf("text/template %.0f labels/s", tt), x(zpl, tt), "≥ 5×, ≤ 1 alloc", tt > 0 && zpl / tt >= 5 && zplAllocs + 0 <= 1)
	row("label preview, 8 dpmm", preview == "" ? "" : preview " ms/label", "", "", "—", "")
	row("label order through the API, every label confirmed", agentL == "" ? "" : sprintf("%.0f labels/s", agentL), cupsL == "" ? "" : sprintf("CUPS raw queue %.0f labels/s", cupsL), cupsR == "" ? "" : sprintf("%.2f×", cupsR), "≥ 5×", cupsR != "" && cupsR + 0 >= 5)
	row("real per-label agent cost with the ledger, 1 printer", job1 == "" ? "" : sprintf("%.0f µs", job1), jobCommit == "" ? "" : sprintf("one-row commit %.0f µs", jobCommit), jobCommits == "" ? "" : sprintf("%.2f commits", jobCommits), "≤ 1,000 µs", job1 != "" && job1 + 0 <= 1000)
	row("per-label agent cost, 4 printers at once", job4 == "" ? "" : sprintf("%.0f µs", job4), "", "", "—", "")
	row("printer runner alone, in-memory queue", runner == "" ? "" : sprintf("%.0f µs/label", runner / 1000), "", "", "—", "")
	row("scanner: framing + GS1 decode (one core)", frame == "" ? "" : sprintf("%.0f scans/s", frame), "", "", "—", "")
	row("scanner: last byte to delivered scan, p99 (loopback TCP)", scanP99 == "" ? "" : scanP99 " µs", "", "", "—", "")
	row("cloud emulator: commission calls of 1 / 100 / 1000 serials", emu == "" ? "" : emu " req/s", "", "", "—", "")
	row("outbox: group commit, 32 producers", group == "" ? "" : sprintf("%.0f items/s", group), one == "" ? "" : sprintf("one row a commit %.0f items/s", one), groupR == "" ? "" : sprintf("%.1f×", groupR), "≥ 10×", groupR != "" && groupR + 0 >= 10)
	row("outbox: drain of 1,000,000 commissions to the emulator", drain == "" ? "" : sprintf("%s s (agent CPU %s s)", drain, drainCPU), "", "", "≤ 10 s", drain != "" && drain + 0 <= 10)
	row("outbox: agent peak RSS during the drain", drainRSS == "" ? "" : drainRSS " MiB", "", "", "≤ 150 MB", drainRSS != "" && drainRSS * 1.048576 <= 150)
	row("station verdict p99, 4 stations at 100 scans/s (median of " sruns + 0 " runs of " ssamples + 0 ")", sp99 == "" ? "" : sprintf("%s µs (p50 %s)", sp99, sp50), cp99 == "" ? "" : sprintf("one-row commit p99 %s µs", cp99), sratio == "" ? "" : sprintf("%.2f×", sratio), "≤ 1.5× and ≤ 1,500 µs", sratio != "" && sratio + 0 <= 1.5 && sp99 + 0 <= 1500)
	row("station sustained verdicts/s, 4 stations", smax == "" ? "" : sprintf("%.0f (%.1f a commit)", smax, spc), "", "", "≥ 4,000", smax != "" && smax + 0 >= 4000)
	row("station: SQL per pack scan", ssql == "" ? "" : sprintf("%.0f µs, %d statements", ssql, sstmts), scommit == "" ? "" : sprintf("its commit %.0f µs", scommit), "", "≤ 100 µs", ssql != "" && ssql + 0 <= 100)
	for (i = 1; i <= npages; i++) {
		p = pages[i]
		row(p " page at " sprintf("%.0f", serials[p] / 1e6) " M serials", big[p] == "" ? "" : sprintf("%.2f ms", big[p]), small[p] == "" ? "" : sprintf("at 10 k serials %.2f ms", small[p]), x(big[p], small[p]), p == "metrics" ? "—" : "≤ 5 ms", p == "metrics" ? "" : (big[p] != "" && big[p] + 0 <= 5))
	}
	if (npages == 0) row("overview page at 10 M serials", "", "", "", "≤ 5 ms", "")
	row("agent: start to ready, printers checked and scanner listening (median of " starts + 0 ")", ready == "" ? "" : sprintf("%s ms (slowest %s)", ready, readyMax), "", "", "≤ 300 ms", ready != "" && ready + 0 <= 300)
	row("agent: idle RSS", rss == "" ? "" : rss " MiB", "", "", "≤ 40 MB", rss != "" && rss * 1.048576 <= 40)
}
