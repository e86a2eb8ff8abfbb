using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace IamFulfillment.Benchmarks;

/// <summary>The results as one markdown table under a short header (date, machine), as README quotes it.</summary>
public static class Report
{
    /// <summary>End-to-end ≤ this × the critical-path floor at the target latency.</summary>
    public const double RatioTarget = 1.25;

    /// <summary>Median end-to-end at 0 ms added latency: the service's own processing per ticket.</summary>
    public const double OverheadTargetMs = 10;

    public const double StartUpTargetSeconds = 1.5;

    public static string Render(Results results, BenchOptions options)
    {
        var s = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        s.AppendLine(c, $"## Benchmark: end-to-end latency against the round-trip floor");
        s.AppendLine();
        s.AppendLine(c, $"- Date: {results.Started:yyyy-MM-dd HH:mm} UTC; run took {results.Duration.TotalMinutes:0.0} min{(options.Quick ? " (--quick)" : "")}.");
        s.AppendLine(c, $"- Machine: {Environment.ProcessorCount} cores ({CpuModel()}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; load average {results.LoadBefore} before, {results.LoadAfter} after (shared machine); one Azurite round trip (read one entity) p50 {results.StorageRoundTripMs:0.0} ms.");
        s.AppendLine(c, $"- Set-up: Azurite, ServiceNow/Jira/Graph sandboxes (WireMock.Net, loopback) adding a fixed latency to every call, the standalone host as its own process (Release, `Processing:Concurrency` 64, default logging). Demo policy with the safety brake's caps raised. {options.Samples} tickets per row after a warm-up; each ticket a new employee, sent one at a time.");
        s.AppendLine("- End-to-end = webhook sent → the ticket system received the final write-back call. Floor = sequential round trips the work needs × added latency (derivation per row). Calls per ticket: HTTP calls to each system (Graph: calls / requests inside them). Overhead (0 ms rows) = end-to-end minus the time at least one ServiceNow, Jira or Graph sandbox was serving one of the ticket's calls (from its arrival to its answer; Graph: to its handling): what the service itself adds — intake, storage, queueing, its own CPU and the loopback transfers.");
        foreach (var cpu in results.Latency.GroupBy(r => r.LatencyMs).Select(g => (g.Key, g.First().CpuPerTicket)))
        {
            s.AppendLine(c, $"- CPU per ticket at {cpu.Key} ms (all kinds, every process on the machine's {Environment.ProcessorCount} cores): host {cpu.CpuPerTicket.Host.TotalMilliseconds:0.0} ms, Azurite {cpu.CpuPerTicket.Azurite.TotalMilliseconds:0.0} ms, sandboxes and this client {cpu.CpuPerTicket.Sandboxes.TotalMilliseconds:0.0} ms.");
        }

        s.AppendLine();
        s.AppendLine("| Measurement | Result | Target | Met | Detail |");
        s.AppendLine("|---|---|---|---|---|");

        foreach (var scenario in Scenario.All)
        {
            foreach (var r in results.Latency.Where(r => r.Scenario == scenario).OrderBy(r => r.LatencyMs))
            {
                var e = r.EndToEnd;
                var ratio = r.LatencyMs > 0 ? e.Median / r.FloorMs : double.NaN;
                string target, met;
                if (r.LatencyMs == 0)
                {
                    target = $"overhead p50 ≤ {OverheadTargetMs:0} ms";
                    met = Mark(r.Outside.Median <= OverheadTargetMs);
                }
                else if (r.LatencyMs == options.TargetLatency)
                {
                    target = $"≤ {RatioTarget:0.00} × floor = {RatioTarget * r.FloorMs:0} ms";
                    met = Mark(ratio <= RatioTarget);
                }
                else
                {
                    target = "–";
                    met = "–";
                }

                var calls = scenario.System == Itsm.ServiceNow ? $"ServiceNow {r.CallsPerTicket.ServiceNow}" : $"Jira {r.CallsPerTicket.Jira}";
                var detail = $"floor {scenario.FloorRoundTrips} × {r.LatencyMs} = {r.FloorMs:0} ms; calls: {calls}, Graph {r.CallsPerTicket.GraphHttp} / {r.CallsPerTicket.GraphRequests}";
                if (r.LatencyMs == options.TargetLatency)
                {
                    detail += $"; path: {scenario.CriticalPath}";
                }

                var overhead = r.LatencyMs == 0 ? $" · overhead p50 {Stats.Ms(r.Outside.Median)} (p90 {Stats.Ms(r.Outside.P90)})" : "";
                s.AppendLine(c, $"| {scenario.Name}, {r.LatencyMs} ms | p50 {Stats.Ms(e.Median)} · p90 {Stats.Ms(e.P90)} · p99 {Stats.Ms(e.P99)}{(double.IsNaN(ratio) ? "" : $" · ×{ratio:0.00} floor")}{overhead} | {target} | {met} | {detail} |");
            }
        }

        foreach (var t in results.Throughput)
        {
            s.AppendLine(c, $"| Throughput, {t.InFlight} in flight, {options.TargetLatency} ms | {t.PerSecond:0.0} tickets/s | – | – | {t.Tickets} tickets (all eight kinds in turn) in {t.Wall.TotalSeconds:0.00} s; end-to-end p50 {Stats.Ms(t.EndToEnd.Median)}, p90 {Stats.Ms(t.EndToEnd.P90)}, p99 {Stats.Ms(t.EndToEnd.P99)} |");
        }

        var unbatched = results.Bulk.FirstOrDefault(b => !b.Batching);
        foreach (var b in results.Bulk)
        {
            var target = b.Batching ? "Graph calls ≤ 1/10 of unbatched" : "–";
            var met = b.Batching && unbatched is not null ? Mark(b.Calls.GraphHttp * 10 <= unbatched.Calls.GraphHttp) : "–";
            var share = b.Batching && unbatched is not null ? $" ({(double)b.Calls.GraphHttp / unbatched.Calls.GraphHttp:P1} of unbatched)" : "";
            s.AppendLine(c, $"| Bulk leaver event, {b.Users:N0} users, `Graph:Batching` {(b.Batching ? "on" : "off")}, {options.TargetLatency} ms | {b.Wall.TotalSeconds:0.0} s; {b.Calls.GraphHttp:N0} Graph calls{share} | {target} | {met} | {b.Calls.GraphRequests:N0} Graph requests ({(double)b.Calls.GraphRequests / b.Users:0.0} per leaver), ServiceNow {b.Calls.ServiceNow:N0} calls; {b.Users / b.Wall.TotalSeconds:0.0} leavers/s; {b.Fulfilled:N0} fulfilled |");
        }

        if (results.IntakeMs.Count > 0)
        {
            var i = new Stats(results.IntakeMs);
            s.AppendLine(c, $"| Intake: webhook sent → 202 Accepted | p50 {Stats.Ms(i.Median)} · p90 {Stats.Ms(i.P90)} · p99 {Stats.Ms(i.P99)} | – | – | {i.Count} webhooks, one at a time: signature, delivery ledger, durable enqueue |");
        }

        if (results.StartUps.Count > 0)
        {
            var st = new Stats(results.StartUps.Select(t => t.TotalSeconds));
            s.AppendLine(c, $"| Host start-up → first accepted webhook | median {st.Median:0.00} s, max {st.Max:0.00} s | ≤ {StartUpTargetSeconds:0.0} s | {Mark(st.Median <= StartUpTargetSeconds)} | `dotnet IamFulfillment.Host.dll` as its own process, {st.Count} starts (the first creates its tables and queue): {string.Join(", ", results.StartUps.Select(t => t.TotalSeconds.ToString("0.00", c) + " s"))} |");
        }

        if (results.Memory is { } m)
        {
            s.AppendLine(c, $"| Host memory after the run | working set {Mib(m.WorkingSetBytes)}, private {Mib(m.PrivateBytes)} | – | – | peak working set {Mib(m.PeakWorkingSetBytes)}; after every latency and throughput run |");
        }

        if (results.Problems.Count > 0)
        {
            s.AppendLine();
            s.AppendLine(c, $"Problems ({results.Problems.Count}): {string.Join("; ", results.Problems.Take(10))}");
        }

        return s.ToString();
    }

    private static string Mark(bool met) => met ? "yes" : "**no**";

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0", CultureInfo.InvariantCulture) + " MiB";

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
