using System.CommandLine;
using System.Globalization;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Storage;

namespace IamFulfillment.Benchmarks;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var quick = new Option<bool>("--quick") { Description = "A short run (about a minute): fewer samples, a 200-user bulk event, one host start." };
        var samples = new Option<int?>("--samples") { Description = "Measured tickets per request type and latency (default 30; --quick 8)." };
        var latencies = new Option<string?>("--latencies") { Description = "Added latencies in ms, comma-separated (default 0,20,50)." };
        var bulk = new Option<int?>("--bulk-users") { Description = "Users in the bulk leaver event (default 1000; --quick 200; 0 skips it)." };
        var skip = new Option<string[]>("--skip") { Description = "Parts to leave out: latency, throughput, bulk.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output") { Description = "Where to write the markdown (default tests/IamFulfillment.Benchmarks/results.md; '-' for none)." };
        var timeline = new Option<int>("--timeline") { Description = "Diagnostics: print when each call of this many tickets per kind reached its sandbox and was answered." };
        var timelineLatency = new Option<int?>("--timeline-latency") { Description = "Diagnostics: the added latency in ms for --timeline (default 20; 0 shows where a ticket's own overhead goes)." };
        var idle = new Option<bool>("--idle-probe") { Description = "Diagnostics: report the CPU the host, Azurite and this process use in 10 s without tickets." };
        var hostEnv = new Option<string[]>("--host-env") { Description = "Diagnostics: NAME=VALUE environment variables for the host process.", AllowMultipleArgumentsPerToken = true };
        var hostDll = new Option<string?>("--host-dll") { Description = "The standalone host to run (default functions/IamFulfillment.Host/bin/Release/net10.0/IamFulfillment.Host.dll)." };
        var root = new RootCommand("Issue 6 benchmark: end-to-end latency against the critical-path floor, throughput, a bulk leaver event, intake, start-up and memory of the standalone host.")
        {
            quick, samples, latencies, bulk, skip, output, timeline, timelineLatency, idle, hostEnv, hostDll,
        };
        root.SetAction((ParseResult result, CancellationToken cancellationToken) =>
        {
            var isQuick = result.GetValue(quick);
            var repo = RepositoryRoot.Find();
            var skipped = (result.GetValue(skip) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var bulkUsers = result.GetValue(bulk) ?? (isQuick ? 200 : 1000);
            var options = new BenchOptions
            {
                Quick = isQuick,
                Samples = result.GetValue(samples) ?? (isQuick ? 8 : 30),
                Latencies = result.GetValue(latencies) is { } list
                    ? [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))]
                    : [0, 20, 50],
                ThroughputTickets = isQuick ? 24 : 48,
                BulkUsers = bulkUsers,
                Starts = isQuick ? 1 : 3,
                WarmUpRounds = isQuick ? 3 : 10,
                Timeline = result.GetValue(timeline),
                TimelineLatency = result.GetValue(timelineLatency) ?? 20,
                IdleProbe = result.GetValue(idle),
                HostEnvironment = (result.GetValue(hostEnv) ?? []).Select(v => v.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal),
                Latency = !skipped.Contains("latency"),
                Throughput = !skipped.Contains("throughput"),
                Bulk = !skipped.Contains("bulk") && bulkUsers > 0,
                HostDll = result.GetValue(hostDll) ?? Path.Combine(repo, "functions", "IamFulfillment.Host", "bin", "Release", "net10.0", "IamFulfillment.Host.dll"),
                Output = result.GetValue(output) is { } o ? (o == "-" ? null : o) : Path.Combine(repo, "tests", "IamFulfillment.Benchmarks", "results.md"),
            };
            return RunAsync(options, cancellationToken);
        });
        return await root.Parse(args).InvokeAsync();
    }

    private static async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        if (!File.Exists(options.HostDll))
        {
            await Console.Error.WriteLineAsync($"The host is not built: {options.HostDll} (dotnet build -c Release).");
            return 2;
        }

        Bench.Log("starting Azurite and the sandboxes …");
        var policy = Bench.WritePolicy();
        try
        {
            await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { ShareAzurite = false }, cancellationToken);
            Results results;
            await using (var bench = new Bench(options, world, policy))
            {
                results = await bench.RunAsync(cancellationToken);
            }

            var markdown = Report.Render(results, options);
            Console.WriteLine(markdown);
            if (options.Output is { } path)
            {
                await File.WriteAllTextAsync(path, markdown, cancellationToken);
                Bench.Log($"written to {path}");
            }

            return results.Problems.Count == 0 ? 0 : 1;
        }
        finally
        {
            File.Delete(policy);
        }
    }
}
