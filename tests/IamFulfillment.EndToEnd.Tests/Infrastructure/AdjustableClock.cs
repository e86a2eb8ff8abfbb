namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The system clock plus an offset that only moves forward: lets a test step over a policy's waiting window (minutes)
/// without sleeping through it, while everything else in the host keeps running in real time.
/// </summary>
public sealed class AdjustableClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
