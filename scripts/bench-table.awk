# Turns "go test -bench" output into one table: each figure an issue asked
# for, the value measured and its goal. Usage: awk -f bench-table.awk bench.txt
function metric(unit,    i) { for (i = 1; i <= NF; i++) if ($i == unit) return $(i-1); return "" }
function allocs(    i) { for (i = 1; i <= NF; i++) if ($i == "allocs/op") return $(i-1); return "" }
/^BenchmarkParse\// && !parse { parse = metric("scans/s") }
/^BenchmarkRenderPack/ { if ($1 ~ /TextTemplate/) tt = metric("labels/s"); else { zpl = metric("labels/s"); zplAllocs = allocs() } }
/^BenchmarkPreviewPack/ { preview = metric("ms/label") }
/^BenchmarkJob10k/ { job = metric("ns/label") }
/^BenchmarkFrameDecode/ { frame = metric("scans/s") }
/^BenchmarkScanLatency/ { scanP99 = metric("p99-µs") }
/^BenchmarkEmulatorCommission/ { emu = emu (emu == "" ? "" : " / ") sprintf("%.0f", metric("req/s")) }
/^BenchmarkEnqueue\// { if ($1 ~ /one-row/) one = metric("items/s"); else group = metric("items/s") }
/^BenchmarkDrain1M/ { drain = metric("s/1M-serials"); drainRSS = metric("peak-RSS-MiB") }
/^BenchmarkStationVerdicts\/paced/ { sp50 = metric("p50-µs"); sp99 = metric("p99-µs"); cp99 = metric("commit-p99-µs"); sratio = metric("p99-ratio") }
/^BenchmarkStationVerdicts\/max/ { smax = metric("scans/s") }
/^BenchmarkOverview/ { overview = metric("ms/render") }
/^BenchmarkAgentStart/ { ready = metric("ms-to-ready"); rss = metric("idle-RSS-MiB") }
function v(raw, formatted) { return raw == "" ? "" : formatted }
function row(name, value, goal, ok) {
	if (value == "" || value ~ /^[ \/]*$/) { value = "not run"; ok = "" }
	printf "| %s | %s | %s | %s |\n", name, value, goal, ok == "" ? "" : (ok ? "yes" : "**no**")
}
END {
	print "| figure | measured | goal | met |"
	print "|---|---|---|---|"
	row("GS1 parse, scanner data (one core)", v(parse, sprintf("%.0f scans/s", parse)), "—", "")
	row("pack label render, zpl (one core)", v(zpl, sprintf("%.0f labels/s, %s allocs/label", zpl, zplAllocs)), "≤ 1 allocation", zplAllocs != "" && zplAllocs + 0 <= 1)
	row("pack label render, text/template (same label)", v(tt, sprintf("%.0f labels/s", tt)), "—", "")
	row("zpl against text/template", tt > 0 ? sprintf("%.1f×", zpl / tt) : "", "≥ 5×", tt > 0 && zpl / tt >= 5)
	row("label preview, 8 dpmm", v(preview, sprintf("%s ms/label", preview)), "—", "")
	row("printer: agent overhead per label, 10,000-label job", v(job, sprintf("%.0f µs", job / 1000)), "—", "")
	row("scanner: framing + GS1 decode (one core)", v(frame, sprintf("%.0f scans/s", frame)), "—", "")
	row("scanner: last byte to delivered scan, p99 (loopback TCP)", v(scanP99, scanP99 " µs"), "—", "")
	row("cloud emulator: commission calls of 1 / 100 / 1000 serials", emu == "" ? "" : emu " req/s", "—", "")
	row("outbox: group commit against one row per commit", one > 0 ? sprintf("%.0f against %.0f items/s: %.1f×", group, one, group / one) : "", "≥ 10×", one > 0 && group / one >= 10)
	row("outbox: drain of 1,000,000 commissions to the emulator", drain == "" ? "" : drain " s", "≤ 120 s", drain != "" && drain + 0 <= 120)
	row("outbox: agent peak RSS during the drain", drainRSS == "" ? "" : drainRSS " MiB", "≤ 150 MB", drainRSS != "" && drainRSS * 1.048576 <= 150)
	row("station: scan to durable verdict at 100 scans/s, p50 / p99", sp50 == "" ? "" : sp50 " / " sp99 " µs", "p99 ≤ 2,000 µs", sp99 != "" && sp99 + 0 <= 2000)
	row("station: p99 against a one-row commit's p99 (" cp99 " µs)", sratio == "" ? "" : sprintf("%.1f×", sratio), "≤ 3×", sratio != "" && sratio + 0 <= 3)
	row("station: most sustained scans/s (4 stations)", smax == "" ? "" : sprintf("%.0f", smax), "≥ 2,000", smax != "" && smax + 0 >= 2000)
	row("dashboard overview, 100,000 serials and 1,000 cases", overview == "" ? "" : sprintf("%.1f ms", overview), "≤ 50 ms", overview != "" && overview + 0 <= 50)
	row("agent: start to ready", ready == "" ? "" : ready " ms", "≤ 300 ms", ready != "" && ready + 0 <= 300)
	row("agent: idle RSS", rss == "" ? "" : rss " MiB", "≤ 40 MB", rss != "" && rss * 1.048576 <= 40)
}
