using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Hosting;

/// <summary>
/// Intake's way into the standalone consumer. When a processing slot is free, intake queues the item hidden for this
/// process and hands it straight to the consumer: no receive round trip and no wake-up delay between the webhook and
/// the work. The message stays in the queue, hidden and kept hidden while the work runs, so a process that dies
/// loses nothing: the message reappears and any consumer takes it. Otherwise intake queues as usual and wakes the
/// consumer. A handed-over ticket's read starts while its item is being queued (<see cref="TicketProcessor.StartReading"/>).
/// </summary>
public sealed class WorkHandOff(ChannelWorkSignal wake, QueueWorkQueue queue, QueueWorkSource source, ProcessingSettings settings, TicketProcessor processor) : IWorkSignal
{
    private Func<ReceivedWork, TicketReadAhead?, Task>? _run;

    /// <summary>The consumer's processing slots (<c>Processing:Concurrency</c>), shared by received and handed-over work.</summary>
    public SemaphoreSlim Slots { get; } = new(settings.Concurrency, settings.Concurrency);

    /// <summary>The consumer starts taking hand-overs (it then releases the slot when the work ends); null stops it.</summary>
    public void Attach(Func<ReceivedWork, TicketReadAhead?, Task>? run) => Volatile.Write(ref _run, run);

    public void Notify() => wake.Notify();

    public IWorkClaim? TryClaim()
    {
        var run = Volatile.Read(ref _run);
        return run is not null && Slots.Wait(0) ? new Claim(this, run) : null;
    }

    private Task<ReceivedWork> QueueHeldAsync(WorkItem item, CancellationToken cancellationToken) =>
        queue.EnqueueHeldAsync(item, TimeSpan.FromSeconds(settings.VisibilityTimeoutSeconds), cancellationToken);

    private TicketReadAhead? StartReading(WorkItem item) => processor.StartReading(item);

    private Task<bool> DeleteAsync(ReceivedWork queued, CancellationToken cancellationToken) => source.DeleteAsync(queued, cancellationToken);

    private sealed class Claim(WorkHandOff owner, Func<ReceivedWork, TicketReadAhead?, Task> run) : IWorkClaim
    {
        private ReceivedWork? _queued;
        private TicketReadAhead? _ahead;
        private bool _started;

        public async Task QueueAsync(WorkItem item, CancellationToken cancellationToken)
        {
            _ahead = owner.StartReading(item);
            _queued = await owner.QueueHeldAsync(item, cancellationToken);
        }

        public async Task WithdrawAsync(CancellationToken cancellationToken)
        {
            if (_queued is { } queued)
            {
                await owner.DeleteAsync(queued, cancellationToken);
                _queued = null;
            }
        }

        public void Start()
        {
            var queued = _queued ?? throw new InvalidOperationException("Nothing was queued to start.");
            _started = true;
            _ = run(queued, _ahead);
        }

        public void Dispose()
        {
            if (!_started)
            {
                try
                {
                    _ahead?.Dispose();
                }
                finally
                {
                    owner.Slots.Release();
                }
            }
        }
    }
}
