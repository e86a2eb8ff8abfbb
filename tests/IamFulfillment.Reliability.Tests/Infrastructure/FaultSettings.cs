using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Demo;
using GraphFault = IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Reliability.Tests.Infrastructure;

/// <summary>Fault mixes for the sandboxes and the host settings that go with them (all documented keys).</summary>
public static class FaultSettings
{
    /// <summary>
    /// A short attempt timeout and short backoff so that stalls and retries cost seconds, not minutes; enough
    /// attempts that 20 % faults on every call do not exhaust a ticket's budget by chance.
    /// </summary>
    public static void ForFaults(Dictionary<string, string?> settings, int maxAttempts = 10)
    {
        settings["Processing:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Processing:MaxDeliveries"] = "20";
        settings["Processing:RetryDelaySeconds"] = "0.2";
        settings["Processing:MaxRetryDelaySeconds"] = "2";
        foreach (var system in new[] { "ServiceNow", "Jira", "Graph" })
        {
            settings[$"{system}:Retry:AttemptTimeout"] = "00:00:01.500";
            settings[$"{system}:Retry:BaseDelay"] = "00:00:00.100";
            settings[$"{system}:Retry:MaxDelay"] = "00:00:00.800";
        }
    }

    /// <summary>Random faults at <paramref name="rate"/> of every call to each sandbox: 429 with Retry-After, 500, 503, resets and timeouts.</summary>
    public static void Inject(SandboxWorld world, double rate, int seed)
    {
        var part = rate / 5;
        var sn = world.ServiceNow.Faults;
        sn.Reseed(seed);
        sn.RetryAfterSeconds = 1;
        sn.TimeoutStall = TimeSpan.FromSeconds(3);
        (sn.RateLimitProbability, sn.ServerErrorProbability, sn.UnavailableProbability, sn.ConnectionResetProbability, sn.TimeoutProbability) = (part, part, part, part, part);

        var jira = world.Jira!.Faults;
        jira.Reseed(seed + 1);
        jira.RetryAfterSeconds = 1;
        jira.TimeoutStall = TimeSpan.FromSeconds(3);
        (jira.RateLimitProbability, jira.ServerErrorProbability, jira.UnavailableProbability, jira.ConnectionResetProbability, jira.TimeoutProbability) = (part, part, part, part, part);

        var graph = world.Graph.Faults;
        graph.Reseed(seed + 2);
        graph.ThrottleRetryAfter = TimeSpan.FromSeconds(1);
        graph.UnavailableRetryAfter = TimeSpan.FromSeconds(1);
        graph.TimeoutStall = TimeSpan.FromSeconds(3);
        (graph.ThrottleProbability, graph.ServerErrorProbability, graph.UnavailableProbability, graph.ResetBeforeHandlingProbability, graph.TimeoutProbability) = (part, part, part, part, part);
    }

    public static void Clear(SandboxWorld world)
    {
        world.ServiceNow.Faults.Clear();
        world.Jira?.Faults.Clear();
        world.Graph.Faults.Clear();
    }

    /// <summary>Fault counts per kind, as the sandboxes logged them.</summary>
    public static string Report(SandboxWorld world)
    {
        var sn = world.ServiceNow.Calls.Where(c => c.Fault is not null).GroupBy(c => c.Fault!.Value).Select(g => $"{g.Key} {g.Count()}");
        var jira = (world.Jira?.Calls ?? []).Where(c => c.Fault is not null).GroupBy(c => c.Fault!.Value).Select(g => $"{g.Key} {g.Count()}");
        var graph = world.Graph.HttpCalls.Concat(world.Graph.Requests.Where(r => r.InBatch)).Where(c => c.Fault is not null).GroupBy(c => c.Fault!).Select(g => $"{g.Key} {g.Count()}");
        return $"ServiceNow {world.ServiceNow.Calls.Count} calls [{string.Join(", ", sn)}]; Jira {world.Jira?.Calls.Count ?? 0} calls [{string.Join(", ", jira)}]; " +
               $"Graph {world.Graph.HttpCalls.Count} calls [{string.Join(", ", graph)}]";
    }

    /// <summary>
    /// The sandboxes log an answer just after writing it, so the client may have it a moment before the logged time;
    /// a retry is early only when it comes sooner than the wait minus this.
    /// </summary>
    public static readonly TimeSpan MeasurementSlack = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Every answer that asked for a wait (429, and 503 with Retry-After) against the next call with the same method,
    /// path and query whose key names one of <paramref name="keys"/> (so no other ticket shares it): returns the
    /// violations and the smallest margin seen.
    /// </summary>
    public static (IReadOnlyList<string> Violations, TimeSpan? SmallestMargin, int Checked) RetryAfterCompliance(SandboxWorld world, IReadOnlyCollection<string> keys)
    {
        var violations = new List<string>();
        TimeSpan? smallest = null;
        var checkedCount = 0;
        var snWait = TimeSpan.FromSeconds(world.ServiceNow.Faults.RetryAfterSeconds);
        var sn = world.ServiceNow.Calls.Select(c => (Key: $"{c.Method} {c.Path}{c.Query}", c.ReceivedAt, c.At,
            Wait: c.Fault == SandboxFaultKind.RateLimited ? snWait : (TimeSpan?)null)).ToList();
        var jiraWait = TimeSpan.FromSeconds(world.Jira?.Faults.RetryAfterSeconds ?? 0);
        var jira = (world.Jira?.Calls ?? []).Select(c => (Key: $"{c.Method} {c.Path}{c.Query}", c.ReceivedAt, c.At,
            Wait: c.Fault is SandboxFaultKind.RateLimited or SandboxFaultKind.Unavailable ? jiraWait : (TimeSpan?)null)).ToList();
        foreach (var (name, calls) in new[] { ("ServiceNow", sn), ("Jira", jira) })
        {
            // A Jira write-back posts its customer comment and its internal note to the same path at once: those two are not one call repeated.
            foreach (var group in calls.Where(c => keys.Any(k => c.Key.Contains(k, StringComparison.Ordinal)) && !c.Key.StartsWith("POST /rest/servicedeskapi/request/", StringComparison.Ordinal))
                         .GroupBy(c => c.Key))
            {
                var ordered = group.OrderBy(c => c.ReceivedAt).ToList();
                for (var i = 0; i < ordered.Count - 1; i++)
                {
                    if (ordered[i].Wait is not { } wait)
                    {
                        continue;
                    }

                    checkedCount++;
                    var margin = ordered[i + 1].ReceivedAt - ordered[i].At - wait;
                    smallest = smallest is null || margin < smallest ? margin : smallest;
                    if (margin < -MeasurementSlack)
                    {
                        violations.Add($"{name} {group.Key}: asked to wait {wait.TotalSeconds:0.0} s at {ordered[i].At:HH:mm:ss.fff}, called again at {ordered[i + 1].ReceivedAt:HH:mm:ss.fff}");
                    }
                }
            }
        }

        return (violations, smallest, checkedCount);
    }

    /// <summary>The Graph side of <see cref="RetryAfterCompliance"/> for calls that only one ticket makes (single-ticket tests).</summary>
    public static IReadOnlyList<(string Call, TimeSpan Gap)> GraphGapsAfterThrottling(SandboxWorld world, string pathContains)
    {
        var calls = world.Graph.HttpCalls.Where(c => c.Path.Contains(pathContains, StringComparison.Ordinal)).OrderBy(c => c.At).ToList();
        var gaps = new List<(string, TimeSpan)>();
        for (var i = 0; i < calls.Count - 1; i++)
        {
            if (calls[i].Fault is "429" or "503")
            {
                gaps.Add(($"{calls[i].Method} {calls[i].Path}", calls[i + 1].At - calls[i].At));
            }
        }

        return gaps;
    }

    public static GraphFault.SandboxFault GraphThrottle(string method, string pathContains, TimeSpan retryAfter) =>
        new(GraphFault.SandboxFaultKind.Throttle) { Method = method, PathContains = pathContains, RetryAfter = retryAfter, Scope = GraphFault.SandboxFaultScope.DirectCall };
}
