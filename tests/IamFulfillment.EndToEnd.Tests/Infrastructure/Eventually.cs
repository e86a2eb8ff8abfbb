using System.Diagnostics;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>Waits for what the service does in its own time, by looking again (the sandboxes raise no event for it).</summary>
public static class Eventually
{
    /// <summary>Returns once <paramref name="condition"/> holds; throws with <paramref name="failure"/> after <paramref name="limit"/> (30 s).</summary>
    public static async Task HoldsAsync(Func<bool> condition, string failure, TimeSpan? limit = null, TimeSpan? poll = null)
    {
        var until = limit ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > until)
            {
                throw new TimeoutException($"{failure} (waited {until.TotalSeconds:0} s).");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(10));
        }
    }
}
