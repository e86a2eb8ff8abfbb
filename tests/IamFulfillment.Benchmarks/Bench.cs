using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace IamFulfillment.Benchmarks;

/// <summary>One measured ticket.</summary>
/// <param name="PreReadMs">Webhook sent → the host sent its first ticket-system call (intake, queue, lease).</param>
/// <param name="TailMs">The last Graph answer → the host sent the final write-back (decision bookkeeping, checkpoint).</param>
/// <param name="OutsideMs">End-to-end minus the time at least one sandbox was serving one of the ticket's calls (added latency included): the service's own processing.</param>
public sealed record Sample(Scenario Scenario, double EndToEndMs, double IntakeMs, CallCounts Calls, DateTimeOffset Sent, double PreReadMs, double TailMs, double OutsideMs, IReadOnlyList<string> Timeline);

public sealed record LatencyResult(Scenario Scenario, int LatencyMs, Stats EndToEnd, CallCounts CallsPerTicket, CpuTimes CpuPerTicket, Stats PreRead, Stats Tail, Stats Outside)
{
    public double FloorMs => Scenario.FloorRoundTrips * LatencyMs;
}

public sealed record ThroughputResult(int InFlight, int Tickets, TimeSpan Wall, Stats EndToEnd)
{
    public double PerSecond => Tickets / Wall.TotalSeconds;
}

public sealed record BulkResult(bool Batching, int Users, TimeSpan Wall, CallCounts Calls, int Fulfilled);

public sealed class Results
{
    public List<LatencyResult> Latency { get; } = [];
    public List<ThroughputResult> Throughput { get; } = [];
    public List<BulkResult> Bulk { get; } = [];
    public List<TimeSpan> StartUps { get; } = [];
    public List<double> IntakeMs { get; } = [];
    public HostMemory? Memory { get; set; }
    public double StorageRoundTripMs { get; set; }
    public List<string> Problems { get; } = [];
    public string? LoadBefore { get; set; }
    public string? LoadAfter { get; set; }
    public DateTimeOffset Started { get; set; }
    public TimeSpan Duration { get; set; }
}

/// <summary>
/// Runs the measurements against one <see cref="SandboxWorld"/>: the standalone host as its own process, the
/// sandboxes in this one (their call logs give the moment each write-back reached the ticket system).
/// </summary>
public sealed class Bench(BenchOptions options, SandboxWorld world, string policyPath) : IAsyncDisposable
{
    private const int BulkSenders = 32;
    private readonly Results _results = new();
    private readonly CallTracker _tracker = new(world);
    private readonly TicketFactory _factory = new(world);
    private readonly Dictionary<Scenario, int> _writes = [];
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly TableServiceClient _tables = new(world.Azurite.ConnectionString);
    private readonly int? _azurite = CpuTimes.FindAzurite(world.Azurite.TablePort);

    public async Task<Results> RunAsync(CancellationToken cancellationToken)
    {
        _results.Started = TimeProvider.System.GetUtcNow();
        _results.LoadBefore = LoadAverage();
        var clock = Stopwatch.StartNew();

        await ProbeStorageAsync(cancellationToken);
        var settings = HostSettings(batching: null);
        world.Latency = TimeSpan.Zero;
        var first = _factory.Create(Scenario.All[0]);
        var (host, startUp) = await StartHostAsync(settings, first, cancellationToken);
        _results.StartUps.Add(startUp);
        var store = Store(settings);
        Log($"host started in {startUp.TotalMilliseconds:0} ms (pid {host.ProcessId})");
        try
        {
            await store.SettleAsync(first.Ref, cancellationToken);
            await WarmUpAsync(host, store, cancellationToken);
            if (options.IdleProbe)
            {
                var idle = CpuTimes.Read(host.ProcessId, _azurite);
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                var used = CpuTimes.Read(host.ProcessId, _azurite) - idle;
                Log($"idle for 10 s: host used {used.Host.TotalMilliseconds:0} ms CPU, Azurite {used.Azurite.TotalMilliseconds:0} ms, this process {used.Sandboxes.TotalMilliseconds:0} ms");
            }

            if (options.Timeline > 0)
            {
                await TimelinesAsync(host, store, cancellationToken);
            }

            if (options.Latency)
            {
                foreach (var latency in options.Latencies)
                {
                    await MeasureLatencyAsync(host, store, latency, cancellationToken);
                }
            }

            if (options.Throughput)
            {
                foreach (var inFlight in options.InFlight)
                {
                    await MeasureThroughputAsync(host, store, inFlight, cancellationToken);
                }
            }

            _results.Memory = host.Memory();
            Log($"host memory: working set {_results.Memory.WorkingSetBytes / 1048576.0:0} MiB, private {_results.Memory.PrivateBytes / 1048576.0:0} MiB");
        }
        catch
        {
            Console.Error.WriteLine("Host output (last lines):\n" + host.Output);
            throw;
        }
        finally
        {
            await host.DisposeAsync();
        }

        // Restarts of the same configuration (its storage exists now, as after a deployment's restart).
        for (var i = 1; i < options.Starts; i++)
        {
            world.Latency = TimeSpan.Zero;
            var ticket = _factory.Create(Scenario.All[0]);
            var (again, took) = await StartHostAsync(settings, ticket, cancellationToken);
            _results.StartUps.Add(took);
            Log($"host restart {i.ToString(CultureInfo.InvariantCulture)}: first webhook accepted after {took.TotalMilliseconds:0} ms");
            await store.SettleAsync(ticket.Ref, cancellationToken);
            await again.DisposeAsync();
        }

        if (options.Bulk)
        {
            foreach (var batching in new[] { true, false })
            {
                await MeasureBulkAsync(batching, cancellationToken);
            }
        }

        _results.LoadAfter = LoadAverage();
        _results.Duration = clock.Elapsed;
        return _results;
    }

    /// <summary>Diagnostics: what one storage round trip costs on this machine now (the host makes several per ticket).</summary>
    private async Task ProbeStorageAsync(CancellationToken cancellationToken)
    {
        var table = _tables.GetTableClient("benchprobe");
        await table.CreateIfNotExistsAsync(cancellationToken);
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["Value"] = "x" }, cancellationToken: cancellationToken);
        var times = new List<double>();
        for (var i = 0; i < 60; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await table.GetEntityAsync<TableEntity>("p", "r", cancellationToken: cancellationToken);
            if (i >= 10)
            {
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        var stats = new Stats(times);
        _results.StorageRoundTripMs = stats.Median;
        Log($"Azurite round trip (read one entity): p50 {Stats.Ms(stats.Median)}, p90 {Stats.Ms(stats.P90)}");
    }

    /// <summary>
    /// JIT (a method reaches optimised code after about 60 calls with tiered PGO), connection pools, the directory's
    /// group cache: <see cref="BenchOptions.WarmUpRounds"/> tickets of every kind before anything counts, then more
    /// rounds while the host's JIT thread is still busy recompiling (at most a minute), as a host that has been running
    /// for a while would be. On two cores, a JIT still at work takes CPU from every ticket measured.
    /// </summary>
    /// <summary>The runtime's background compiler thread (tier-1 recompilation), as Linux names it.</summary>
    private const string JitThread = ".NET Tiered Com";
    private const double MaxJitShare = 0.05;
    private static readonly TimeSpan MaxWarmUp = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(3);

    private async Task WarmUpAsync(HostProcess host, TicketStore store, CancellationToken cancellationToken)
    {
        world.Latency = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        var jit = CpuTimes.ThreadCpu(host.ProcessId, JitThread);
        var since = clock.Elapsed;
        for (var i = 0; ; i++)
        {
            // The JIT's share is judged over at least QuietWindow of rounds: one round is too short to tell.
            if (i >= options.WarmUpRounds && clock.Elapsed - since >= QuietWindow)
            {
                var used = CpuTimes.ThreadCpu(host.ProcessId, JitThread);
                var share = (used - jit) / (clock.Elapsed - since);
                (jit, since) = (used, clock.Elapsed);
                if (share < MaxJitShare || clock.Elapsed > MaxWarmUp)
                {
                    Log($"warm-up: {i} rounds in {clock.Elapsed.TotalSeconds:0} s; the JIT used {share:P0} of the last {QuietWindow.TotalSeconds:0} s");
                    break;
                }
            }

            foreach (var scenario in Scenario.All)
            {
                var ticket = _factory.Create(scenario);
                var watch = _tracker.Watch(ticket, int.MaxValue);
                using (var request = ticket.Webhook(host.Address))
                using (var response = await _http.SendAsync(request, cancellationToken))
                {
                    Expect(response, ticket);
                }

                var state = await store.SettleAsync(ticket.Ref, cancellationToken);
                Check(state, ticket);
                _writes[scenario] = Math.Max(1, watch.Writes);
                _tracker.Forget(ticket);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        Log("warm-up done: write-back calls per ticket " + string.Join(", ", _writes.Select(w => $"{w.Key.Name} {w.Value.ToString(CultureInfo.InvariantCulture)}")));
    }

    /// <summary>Diagnostics: when each call of a ticket reached its sandbox, relative to the webhook.</summary>
    private async Task TimelinesAsync(HostProcess host, TicketStore store, CancellationToken cancellationToken)
    {
        world.Latency = TimeSpan.FromMilliseconds(options.TimelineLatency);
        foreach (var scenario in Scenario.All)
        {
            for (var i = 0; i < options.Timeline; i++)
            {
                var sample = await RunOneAsync(host, store, _factory.Create(scenario), cancellationToken);
                Log($"timeline {scenario.Name}: end-to-end {sample.EndToEndMs:0.0} ms, intake {sample.IntakeMs:0.0} ms, before the first read {sample.PreReadMs:0.0} ms, before the write-back {sample.TailMs:0.0} ms (per call: when it reached the sandbox → when it was answered, after the added {options.TimelineLatency} ms)\n" + string.Join('\n', sample.Timeline));
            }
        }
    }

    private async Task MeasureLatencyAsync(HostProcess host, TicketStore store, int latencyMs, CancellationToken cancellationToken)
    {
        world.Latency = TimeSpan.FromMilliseconds(latencyMs);
        var samples = new List<Sample>();
        var cpu = default(CpuTimes);

        // One ticket of every kind per round, so drifting machine load spreads over all of them alike.
        for (var round = 0; round < options.Samples + 1; round++)
        {
            foreach (var scenario in Scenario.All)
            {
                if (round == 1 && scenario == Scenario.All[0])
                {
                    cpu = CpuTimes.Read(host.ProcessId, _azurite);
                }

                var sample = await RunOneAsync(host, store, _factory.Create(scenario), cancellationToken);

                // The first round at a new latency only refills connection pools that idled.
                if (round > 0)
                {
                    samples.Add(sample);
                    _results.IntakeMs.Add(sample.IntakeMs);
                }
            }
        }

        var used = CpuTimes.Read(host.ProcessId, _azurite) - cpu;
        var perTicketCpu = new CpuTimes(used.Host / samples.Count, used.Azurite / samples.Count, used.Sandboxes / samples.Count);
        Log($"{latencyMs,3} ms  CPU per ticket (all kinds): host {perTicketCpu.Host.TotalMilliseconds:0.0} ms, Azurite {perTicketCpu.Azurite.TotalMilliseconds:0.0} ms, sandboxes and client {perTicketCpu.Sandboxes.TotalMilliseconds:0.0} ms");
        foreach (var group in samples.GroupBy(s => s.Scenario))
        {
            var n = group.Count();
            var total = group.Aggregate(default(CallCounts), (sum, s) => sum + s.Calls);
            var perTicket = new CallCounts(Div(total.ServiceNow, n), Div(total.Jira, n), Div(total.GraphHttp, n), Div(total.GraphRequests, n));
            var result = new LatencyResult(group.Key, latencyMs, new Stats(group.Select(s => s.EndToEndMs)), perTicket, perTicketCpu,
                new Stats(group.Select(s => s.PreReadMs)), new Stats(group.Select(s => s.TailMs)), new Stats(group.Select(s => s.OutsideMs)));
            _results.Latency.Add(result);
            Log($"{latencyMs,3} ms  {group.Key.Name,-26} p50 {Stats.Ms(result.EndToEnd.Median),8}  p90 {Stats.Ms(result.EndToEnd.P90),8}  p99 {Stats.Ms(result.EndToEnd.P99),8}  floor {result.FloorMs,4:0} ms"
                + (latencyMs > 0 ? $"  ×{result.EndToEnd.Median / result.FloorMs:0.00}" : "")
                + $"  calls SN {perTicket.ServiceNow} Jira {perTicket.Jira} Graph {perTicket.GraphHttp}/{perTicket.GraphRequests}"
                + $"  | before first read p50 {Stats.Ms(result.PreRead.Median)}, before write-back p50 {Stats.Ms(result.Tail.Median)}, outside the sandboxes p50 {Stats.Ms(result.Outside.Median)}");
        }

        static long Div(long total, int n) => (long)Math.Round(total / (double)n);
    }

    /// <summary>Sends one webhook and waits for its write-back; the host is idle before and after.</summary>
    private async Task<Sample> RunOneAsync(HostProcess host, TicketStore store, PreparedTicket ticket, CancellationToken cancellationToken)
    {
        _tracker.Recording = true;
        _tracker.TakeTimeline();
        var before = _tracker.Counts;
        var watch = _tracker.Watch(ticket, _writes[ticket.Scenario]);
        using var request = ticket.Webhook(host.Address);
        var sent = TimeProvider.System.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        using (var response = await _http.SendAsync(request, cancellationToken))
        {
            Expect(response, ticket);
        }

        var intake = Stopwatch.GetElapsedTime(started);
        var done = await watch.Completed.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var state = await store.SettleAsync(ticket.Ref, cancellationToken);
        Check(state, ticket);
        _tracker.Forget(ticket);
        var calls = _tracker.Counts - before;
        var timeline = _tracker.TakeTimeline();
        _tracker.Recording = false;
        var latency = world.ServiceNow.Latency;
        var firstRead = timeline.Where(c => c.System != "Graph").Select(c => c.At).DefaultIfEmpty(done).Min() - latency;
        var lastGraph = timeline.Where(c => c.System == "Graph").Select(c => c.At).DefaultIfEmpty(firstRead).Max();
        return new Sample(ticket.Scenario, (done - sent).TotalMilliseconds, intake.TotalMilliseconds, calls, sent,
            (firstRead - sent).TotalMilliseconds, (done - latency - lastGraph).TotalMilliseconds,
            (done - sent - Served(timeline, sent, done)).TotalMilliseconds,
            [.. timeline.Select(c => $"    +{(c.ReceivedAt - sent).TotalMilliseconds,6:0.0} → {(c.At - sent).TotalMilliseconds,6:0.0} ms  {c.System,-10} {c.Call}")]);
    }

    /// <summary>How long, between <paramref name="from"/> and <paramref name="to"/>, at least one sandbox was serving a call.</summary>
    private static TimeSpan Served(IEnumerable<TimedCall> calls, DateTimeOffset from, DateTimeOffset to)
    {
        var total = TimeSpan.Zero;
        var end = from;
        foreach (var (start, stop) in calls.Select(c => (Start: c.ReceivedAt < from ? from : c.ReceivedAt, Stop: c.At > to ? to : c.At))
                     .Where(c => c.Stop > c.Start).OrderBy(c => c.Start))
        {
            var begin = start > end ? start : end;
            if (stop > begin)
            {
                total += stop - begin;
                end = stop;
            }
        }

        return total;
    }

    private async Task MeasureThroughputAsync(HostProcess host, TicketStore store, int inFlight, CancellationToken cancellationToken)
    {
        world.Latency = TimeSpan.FromMilliseconds(options.TargetLatency);
        var total = Math.Max(options.ThroughputTickets, inFlight * 4);
        var tickets = Enumerable.Range(0, total).Select(i => _factory.Create(Scenario.All[i % Scenario.All.Count])).ToList();
        var watches = tickets.Select(t => _tracker.Watch(t, _writes[t.Scenario])).ToList();
        var endToEnd = new ConcurrentBag<double>();
        var next = -1;
        var start = TimeProvider.System.GetUtcNow();
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
            {
                using var request = tickets[i].Webhook(host.Address);
                var sent = TimeProvider.System.GetUtcNow();
                using (var response = await _http.SendAsync(request, cancellationToken))
                {
                    Expect(response, tickets[i]);
                }

                var done = await watches[i].Completed.WaitAsync(TimeSpan.FromSeconds(120), cancellationToken);
                endToEnd.Add((done - sent).TotalMilliseconds);
            }
        }));

        var end = watches.Max(w => w.Completed.Result);
        foreach (var ticket in tickets)
        {
            Check(await store.SettleAsync(ticket.Ref, cancellationToken), ticket);
            _tracker.Forget(ticket);
        }

        var result = new ThroughputResult(inFlight, total, end - start, new Stats(endToEnd));
        _results.Throughput.Add(result);
        Log($"throughput, {inFlight} in flight: {total} tickets in {result.Wall.TotalSeconds:0.00} s = {result.PerSecond:0.0}/s; p50 {Stats.Ms(result.EndToEnd.Median)}, p90 {Stats.Ms(result.EndToEnd.P90)}");
    }

    /// <summary>
    /// An HR feed terminates <see cref="BenchOptions.BulkUsers"/> people at once: one ServiceNow leaver each, all
    /// announced together. Each mode gets a fresh host (and storage) so neither inherits the other's state.
    /// </summary>
    private async Task MeasureBulkAsync(bool batching, CancellationToken cancellationToken)
    {
        var scenario = Scenario.All.Single(s => s is { System: Itsm.ServiceNow, Request: DemoRequest.Leaver });
        var settings = HostSettings(batching);
        world.Latency = TimeSpan.Zero;
        var first = _factory.Create(scenario);
        var (host, _) = await StartHostAsync(settings, first, cancellationToken);
        var store = Store(settings);
        try
        {
            await store.SettleAsync(first.Ref, cancellationToken);
            world.Latency = TimeSpan.FromMilliseconds(options.TargetLatency);
            for (var i = 0; i < 3; i++)
            {
                await RunOneAsync(host, store, _factory.Create(scenario), cancellationToken);
            }

            Log($"bulk ({(batching ? "batching" : "no batching")}): seeding {options.BulkUsers} leavers …");
            var tickets = Enumerable.Range(0, options.BulkUsers).Select(_ => _factory.Create(scenario)).ToList();
            var watches = tickets.Select(t => _tracker.Watch(t, _writes[scenario])).ToList();
            var before = _tracker.Counts;
            var next = -1;
            var start = TimeProvider.System.GetUtcNow();
            await Task.WhenAll(Enumerable.Range(0, BulkSenders).Select(async _ =>
            {
                for (var i = Interlocked.Increment(ref next); i < tickets.Count; i = Interlocked.Increment(ref next))
                {
                    using var request = tickets[i].Webhook(host.Address);
                    using var response = await _http.SendAsync(request, cancellationToken);
                    Expect(response, tickets[i]);
                }
            }));
            await Task.WhenAll(watches.Select(w => w.Completed)).WaitAsync(TimeSpan.FromMinutes(10), cancellationToken);
            var end = watches.Max(w => w.Completed.Result);
            var calls = _tracker.Counts - before;

            var fulfilled = 0;
            foreach (var ticket in tickets)
            {
                var state = await store.SettleAsync(ticket.Ref, cancellationToken);
                fulfilled += state.Outcome == Outcome.Fulfilled ? 1 : 0;
                Check(state, ticket);
                _tracker.Forget(ticket);
            }

            var result = new BulkResult(batching, tickets.Count, end - start, calls, fulfilled);
            _results.Bulk.Add(result);
            Log($"bulk leaver, {tickets.Count} users, batching {(batching ? "on" : "off")}: {result.Wall.TotalSeconds:0.0} s, Graph {calls.GraphHttp} calls for {calls.GraphRequests} requests, {fulfilled} fulfilled");
        }
        catch
        {
            Console.Error.WriteLine("Host output (last lines):\n" + host.Output);
            throw;
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private async Task<(HostProcess Host, TimeSpan StartUp)> StartHostAsync(Dictionary<string, string?> settings, PreparedTicket first, CancellationToken cancellationToken)
    {
        var address = new Uri(settings["urls"]!);
        var environment = SandboxWorld.AsEnvironment(settings);
        foreach (var (name, value) in options.HostEnvironment)
        {
            environment[name] = value;
        }

        var (host, startUp) = await HostProcess.StartAsync(options.HostDll, environment, address, first.Webhook, cancellationToken);
        return (host, startUp);
    }

    /// <summary>The demo settings with the benchmark's policy (safety brake raised for bulk runs) and 64 tickets at once.</summary>
    private Dictionary<string, string?> HostSettings(bool? batching)
    {
        var settings = world.HostSettings(policyPath);
        settings["urls"] = $"http://127.0.0.1:{AzuriteRunner.FreePort().ToString(CultureInfo.InvariantCulture)}";
        settings["Processing:Concurrency"] = "64";
        if (batching is { } on)
        {
            settings["Graph:Batching"] = on ? "true" : "false";
        }

        return settings;
    }

    private TicketStore Store(Dictionary<string, string?> settings) =>
        new(new TableTicketStore(_tables.GetTableClient(new StorageTableNames(settings["Storage:TablePrefix"]!).Tickets), TimeProvider.System, NullLogger<TableTicketStore>.Instance));

    private static void Expect(HttpResponseMessage response, PreparedTicket ticket)
    {
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"{ticket.Scenario.Name} {ticket.Key}: the webhook was answered {(int)response.StatusCode}, not 202.");
        }
    }

    /// <summary>Every measured ticket must be fulfilled, or the benchmark measures something other than it claims.</summary>
    private void Check(TicketState state, PreparedTicket ticket)
    {
        if (state.Outcome != Outcome.Fulfilled)
        {
            var problem = $"{ticket.Scenario.Name} {ticket.Key}: {state.Outcome?.ToString() ?? state.Phase.ToString()} (rule {state.Rule ?? "none"}), expected Fulfilled";
            lock (_results.Problems)
            {
                _results.Problems.Add(problem);
            }

            Log("PROBLEM: " + problem);
        }
    }

    /// <summary>A policy variant with the safety brake's caps raised: the bulk runs disable far more than the demo's 50 per hour.</summary>
    public static string WritePolicy() => SandboxWorld.WritePolicyVariant(json =>
    {
        var root = JsonNode.Parse(json)!.AsObject();
        root["safetyBrake"] = new JsonObject
        {
            ["windowMinutes"] = 60,
            ["maxDisables"] = 1_000_000,
            ["maxRemovals"] = 1_000_000,
            ["maxMfaResets"] = 1_000_000,
        };
        return root.ToJsonString();
    });

    private static string? LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static void Log(string message) => Console.Error.WriteLine($"[{TimeProvider.System.GetUtcNow():HH:mm:ss}] {message}");

    public ValueTask DisposeAsync()
    {
        _tracker.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The host's ticket state, read from its table (the benchmark never calls the host's code).</summary>
public sealed class TicketStore(TableTicketStore store)
{
    /// <summary>Waits until the ticket's round is finished and its lease released.</summary>
    public async Task<TicketState> SettleAsync(TicketRef ticket, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        TicketState? state = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            state = await store.GetAsync(ticket, cancellationToken);
            if (state is { LeaseOwner: null, Phase: RoundPhase.Completed or RoundPhase.Scheduled })
            {
                return state;
            }

            await Task.Delay(5, cancellationToken);
        }

        throw new TimeoutException($"{ticket} did not settle within 120 s (phase {state?.Phase}, outcome {state?.Outcome}).");
    }
}
