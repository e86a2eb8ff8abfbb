using System.Diagnostics;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Hosting;

/// <summary>
/// The standalone host's queue consumer: receives work items (and takes those intake hands over, see
/// <see cref="WorkHandOff"/>), runs up to <c>Processing:Concurrency</c> at once, keeps each message invisible while
/// its work runs (every renewal returns a new pop receipt), deletes it when done. A message that failed
/// <c>Processing:MaxDeliveries</c> times is handled as its ticket's last attempt.
/// </summary>
public sealed partial class QueueConsumerService(
    QueueWorkSource source,
    WorkItemHandler handler,
    ChannelWorkSignal signal,
    WorkHandOff handOff,
    ProcessingSettings settings,
    ILogger<QueueConsumerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var slots = handOff.Slots;
        var visibility = TimeSpan.FromSeconds(settings.VisibilityTimeoutSeconds);
        var idle = TimeSpan.FromMilliseconds(settings.PollIntervalMilliseconds);
        var running = new HashSet<Task>();

        // Runs one message in a slot already taken, and keeps track of it so shutdown waits for it.
        Task Start(ReceivedWork message, TicketReadAhead? ahead)
        {
            var task = RunAsync(message, ahead, visibility, stoppingToken).ContinueWith(_ => slots.Release(), TaskScheduler.Default);
            lock (running)
            {
                running.Add(task);
            }

            _ = task.ContinueWith(t =>
            {
                lock (running)
                {
                    running.Remove(t);
                }
            }, TaskScheduler.Default);
            return task;
        }

        handOff.Attach(Start);
        try
        {
            await ConsumeAsync(Start, slots, visibility, idle, stoppingToken);
        }
        finally
        {
            handOff.Attach(null);
            Task[] remaining;
            lock (running)
            {
                remaining = [.. running];
            }

            await Task.WhenAll(remaining);
        }
    }

    private async Task ConsumeAsync(Func<ReceivedWork, TicketReadAhead?, Task> start, SemaphoreSlim slots, TimeSpan visibility, TimeSpan idle, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<ReceivedWork> batch;
            try
            {
                var free = Math.Min(32, slots.CurrentCount);
                batch = free == 0 ? [] : await source.ReceiveAsync(free, visibility, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogReceiveFailed(logger, ex.GetType().Name);
                await DelayQuietly(TimeSpan.FromSeconds(2), stoppingToken);
                continue;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                if (!slots.Wait(0, CancellationToken.None))
                {
                    // Intake handed work to the slots counted before the receive: give the rest back at once rather
                    // than hold messages nobody keeps hidden.
                    await ReleaseAsync(batch.Skip(i));
                    break;
                }

                _ = start(batch[i], null);
            }

            if (batch.Count == 0 || slots.CurrentCount == 0)
            {
                // Nothing queued (or every slot busy): wait for intake's signal, a finished slot or the poll interval.
                try
                {
                    await signal.WaitAsync(slots.CurrentCount == 0 ? TimeSpan.FromMilliseconds(50) : idle, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Makes received messages visible again for the next receive (or another consumer).</summary>
    private async Task ReleaseAsync(IEnumerable<ReceivedWork> messages)
    {
        foreach (var message in messages)
        {
            try
            {
                await source.ExtendAsync(message, TimeSpan.Zero, CancellationToken.None);
            }
            catch (Exception ex)
            {
                // It reappears when its visibility timeout ends instead.
                LogReleaseFailed(logger, message.MessageId, ex.GetType().Name);
            }
        }
    }

    private async Task RunAsync(ReceivedWork message, TicketReadAhead? ahead, TimeSpan visibility, CancellationToken stoppingToken)
    {
        if (message.Item is not { } item)
        {
            ahead?.Dispose();
            LogUnreadable(logger, message.MessageId);
            await TryDeleteAsync(message);
            return;
        }

        using var renewal = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var current = message;
        var keepAlive = Task.Run(async () =>
        {
            // Renew halfway through the message's hold so a long ticket is not handed to a second worker: timed from
            // when the message was hidden, not from when the work started (a handed-over item's hold began with its
            // enqueue, a received one's with the receive). A renewal that fails (storage briefly unreachable) is tried
            // again sooner, while the message is still hidden; only a message that is gone (or taken over after its
            // visibility ran out) ends the renewals.
            var wait = HalfwayThrough(current, visibility);
            while (!renewal.Token.IsCancellationRequested)
            {
                await Task.Delay(wait, renewal.Token);
                try
                {
                    current = await source.ExtendAsync(current, visibility, renewal.Token);
                    wait = HalfwayThrough(current, visibility);
                }
                catch (Exception ex) when (!renewal.Token.IsCancellationRequested)
                {
                    var gone = ex is Azure.RequestFailedException { Status: 404 or 400 };
                    LogExtendFailed(logger, message.MessageId, item.Ticket.ToString(), ex.GetType().Name, gone);
                    if (gone)
                    {
                        return;
                    }

                    wait = visibility / 8;
                }
            }
        }, renewal.Token);

        try
        {
            var last = message.DequeueCount >= settings.MaxDeliveries;
            await handler.HandleAsync(item, message.DequeueCount, last, ahead, stoppingToken);
            await renewal.CancelAsync();
            await Quietly(keepAlive);
            await TryDeleteAsync(current);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the message becomes visible again and another run resumes the ticket.
            await renewal.CancelAsync();
            await Quietly(keepAlive);
        }
        catch (Exception ex)
        {
            // Even the escalation failed (storage or the ticket system is down): leave the message to reappear.
            await renewal.CancelAsync();
            await Quietly(keepAlive);
            LogHandleFailed(logger, item.Ticket.ToString(), message.DequeueCount, ex.GetType().Name);
        }
    }

    /// <summary>How long until half of <paramref name="message"/>'s hold of <paramref name="visibility"/> has gone by.</summary>
    private static TimeSpan HalfwayThrough(ReceivedWork message, TimeSpan visibility)
    {
        var half = visibility / 2;
        if (message.HiddenSince == 0)
        {
            return half;
        }

        var left = half - Stopwatch.GetElapsedTime(message.HiddenSince);
        return left < TimeSpan.Zero ? TimeSpan.Zero : left;
    }

    private async Task TryDeleteAsync(ReceivedWork message)
    {
        try
        {
            await source.DeleteAsync(message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The message reappears after its visibility timeout; processing it again is a no-op.
            LogDeleteFailed(logger, message.MessageId, ex.GetType().Name);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // Renewal stopped (cancelled, or the message was already gone).
        }
    }

    private static async Task DelayQuietly(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Receiving from the work queue failed ({Error}); retrying")]
    private static partial void LogReceiveFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Queue message {MessageId} is not a work item; dropped")]
    private static partial void LogUnreadable(ILogger logger, string messageId);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Work item for {Ticket} failed on delivery {DequeueCount} ({Error}); the message will reappear")]
    private static partial void LogHandleFailed(ILogger logger, string ticket, long dequeueCount, string error);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Queue message {MessageId} could not be made visible again ({Error}); it reappears after its visibility timeout")]
    private static partial void LogReleaseFailed(ILogger logger, string messageId, string error);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Queue message {MessageId} for {Ticket} could not be kept hidden ({Error}; message gone: {Gone}); the ticket's lease still keeps a second worker from acting on it")]
    private static partial void LogExtendFailed(ILogger logger, string messageId, string ticket, string error, bool gone);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Queue message {MessageId} could not be deleted ({Error}); it will reappear and be skipped")]
    private static partial void LogDeleteFailed(ILogger logger, string messageId, string error);
}
