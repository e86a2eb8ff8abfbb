using System.Collections.Concurrent;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// A clock shared by a sandbox and a connector: every wait asked of it is recorded, moves the clock on by exactly
/// that much and then fires at once. A test therefore sees how long the connector chose to wait, and the sandbox's
/// call log shows the retry arriving at the time the wait ended — "never sooner" proven without waiting.
/// </summary>
public sealed class SteppingClock(DateTimeOffset start) : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _waits = new();
    private long _elapsedTicks;

    /// <summary>Every wait asked for, in order.</summary>
    public IReadOnlyList<TimeSpan> Waits => [.. _waits];

    public override DateTimeOffset GetUtcNow() => start.AddTicks(Interlocked.Read(ref _elapsedTicks));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime == Timeout.InfiniteTimeSpan)
        {
            return System.CreateTimer(callback, state, dueTime, period);
        }

        _waits.Enqueue(dueTime);
        Interlocked.Add(ref _elapsedTicks, Math.Max(0, dueTime.Ticks));
        return System.CreateTimer(callback, state, TimeSpan.Zero, period);
    }
}
