using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// A fresh webhook's ticket read and the observation of its state row, both started while its work item is still
/// being queued (see <see cref="TicketProcessor.StartReading"/>): neither changes anything, and the run that takes
/// them decides whether the read still counts exactly as for a read it started itself. The lease is a write
/// conditional on the row as observed, so an observation made early is as good as one made later: if the row changed
/// in between, the lease write fails and the run takes the lease on the new row. Disposing one that no run took
/// abandons both.
/// </summary>
public sealed class TicketReadAhead : IDisposable
{
    private readonly CancellationTokenSource _abandon = new();
    private CancellationTokenRegistration _follow;
    private int _taken;

    /// <param name="read">Reads the ticket; given the observation too, for the directory prefetch.</param>
    internal TicketReadAhead(WorkItem item, Func<CancellationToken, DirectoryLookups> lookups,
        Func<DirectoryLookups, Func<Task<TicketState?>?>, CancellationToken, Task<TicketSnapshot>> read, Func<CancellationToken, Task<TicketState?>> observe)
    {
        Item = item;
        Started = TimeProvider.System.GetUtcNow(); // compared with the store's clock, not business time
        Lookups = lookups(_abandon.Token);

        // The read is sent first (it is what the requester waits for) and may be complete before the observation below
        // is even started (a thread descheduled in between on a busy machine): the prefetch then waits for it instead
        // of going ahead unchecked.
        var observation = new TaskCompletionSource<Task<TicketState?>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Read = read(Lookups, () => observation.Task.Unwrap(), _abandon.Token);
        try
        {
            Observed = observe(_abandon.Token);
        }
        catch (Exception ex)
        {
            Observed = Task.FromException<TicketState?>(ex);
        }

        observation.SetResult(Observed);
    }

    internal WorkItem Item { get; }

    internal DateTimeOffset Started { get; }

    internal DirectoryLookups Lookups { get; }

    internal Task<TicketSnapshot> Read { get; }

    /// <summary>The ticket's state row as stored just after the read started (null: none yet); the lease is taken on it.</summary>
    internal Task<TicketState?> Observed { get; }

    /// <summary>A run takes the read over: from now on the run's cancellation stops it. False if it was taken already.</summary>
    internal bool TakeFor(WorkItem item, CancellationToken runCancelled)
    {
        if (item != Item || Interlocked.Exchange(ref _taken, 1) != 0)
        {
            return false;
        }

        _follow = runCancelled.Register(static s => ((CancellationTokenSource)s!).Cancel(), _abandon);
        return true;
    }

    public void Dispose()
    {
        if (Volatile.Read(ref _taken) == 0)
        {
            // Nobody will look at the read: stop it and observe its failure.
            _abandon.Cancel();
            Read.ObserveFailure();
            Observed.ObserveFailure();
        }

        _follow.Dispose();
    }
}
