using System.Diagnostics;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Testing;

/// <summary>Waits on the service's own record of a ticket.</summary>
public static class TicketWaits
{
    /// <summary>
    /// Waits until the stored state says <paramref name="until"/>, lease held or not (a save made alongside work that is
    /// still on the wire lands a moment after the work was sent), and returns it; the last state read if it never does.
    /// </summary>
    public static async Task<TicketState?> WaitForStateAsync(ITicketStore store, TicketRef ticket, Func<TicketState, bool> until, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(5);
        var last = await store.GetAsync(ticket, CancellationToken.None);
        while ((last is null || !until(last)) && deadline.Elapsed < limit)
        {
            await Task.Delay(20);
            last = await store.GetAsync(ticket, CancellationToken.None);
        }

        return last;
    }

    /// <summary>Waits until the ticket's current round has finished (or is waiting/scheduled), with no lease held, and returns its state.</summary>
    public static async Task<TicketState> WaitForRoundAsync(ITicketStore store, TicketRef ticket, TimeSpan? timeout = null, Func<TicketState, bool>? until = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        until ??= s => s.Phase is RoundPhase.Completed or RoundPhase.Scheduled;
        TicketState? last = null;
        while (deadline.Elapsed < limit)
        {
            try
            {
                last = await store.GetAsync(ticket, CancellationToken.None);
            }
            catch (Azure.RequestFailedException)
            {
                // Storage not reachable (an outage test): keep waiting.
            }

            if (last is not null && until(last) && last.LeaseOwner is null)
            {
                return last;
            }

            await Task.Delay(40);
        }

        throw new TimeoutException($"{ticket} did not finish within {limit.TotalSeconds:0} s (phase {last?.Phase}, outcome {last?.Outcome}, lease {last?.LeaseOwner}).");
    }
}
