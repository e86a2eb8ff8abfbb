using IamFulfillment.Sandbox;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One directory call held on the wire, whichever way it goes out: alone, or inside a batch when the suite keeps Graph
/// busy enough to batch. The test looks at the service's state while it is held, then lets it go.
/// </summary>
public sealed class HeldCalls(params RequestHold[] holds)
{
    /// <summary>Waits until one of the ways the call can go out has reached the sandbox.</summary>
    public Task ArrivedAsync() => Task.WhenAny(holds.Select(h => h.Arrived)).WaitAsync(TimeSpan.FromSeconds(30));

    public void Release()
    {
        foreach (var hold in holds)
        {
            hold.Release();
        }
    }
}
