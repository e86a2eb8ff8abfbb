using System.Text;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Reliability.Tests.Infrastructure;

/// <summary>What a failing reliability test prints to explain itself: the trail of the tickets it names and the host's warnings.</summary>
public static class Diagnostics
{
    public static async Task<string> DescribeAsync(ITicketStore store, IEnumerable<TestTicket> tickets, FakeLogCollector? logs = null)
    {
        var text = new StringBuilder();
        foreach (var ticket in tickets)
        {
            var state = await store.GetAsync(ticket.Ref, CancellationToken.None);
            text.AppendLine($"== {ticket.System} {ticket.Number} ({ticket.Key}): phase {state?.Phase}, outcome {state?.Outcome} {state?.Rule}, lease {state?.LeaseOwner}");
            foreach (var e in await store.ReadTrailAsync(ticket.Ref, CancellationToken.None))
            {
                text.AppendLine($"   {e.Sequence} {e.At:HH:mm:ss.fff} {e.Kind} {string.Join("; ", e.Data.Where(d => d.Key is not ("approvals" or "verified" or "summary")).Select(d => $"{d.Key}={Short(d.Value)}"))}");
            }

            if (logs is not null)
            {
                foreach (var record in logs.GetSnapshot().Where(r => r.Level >= LogLevel.Information && r.Message.Contains(ticket.Key, StringComparison.OrdinalIgnoreCase)))
                {
                    text.AppendLine($"   log {record.Timestamp:HH:mm:ss.fff} {record.Level} {record.Category}: {Short(record.Message)}");
                }
            }
        }

        return text.ToString();
    }

    private static string? Short(string? value) => value is { Length: > 200 } ? value[..200] + "…" : value;
}
