using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// A fresh webhook's ticket read, started while its work item is still being queued (see
/// <see cref="TicketProcessor.StartReading"/>): reading changes nothing, and the run that takes it decides whether the
/// read still counts exactly as for a read it started itself. Disposing one that no run took abandons the read.
/// </summary>
public sealed class TicketReadAhead : IDisposable
{
    private readonly CancellationTokenSource _abandon = new();
    private CancellationTokenRegistration _follow;
    private int _taken;

    internal TicketReadAhead(WorkItem item, Func<CancellationToken, DirectoryLookups> lookups, Func<DirectoryLookups, CancellationToken, Task<TicketSnapshot>> read)
    {
        Item = item;
        Started = TimeProvider.System.GetUtcNow(); // compared with the store's clock, not business time
        Lookups = lookups(_abandon.Token);
        Read = read(Lookups, _abandon.Token);
    }

    internal WorkItem Item { get; }

    internal DateTimeOffset Started { get; }

    internal DirectoryLookups Lookups { get; }

    internal Task<TicketSnapshot> Read { get; }

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
        }

        _follow.Dispose();
    }
}
