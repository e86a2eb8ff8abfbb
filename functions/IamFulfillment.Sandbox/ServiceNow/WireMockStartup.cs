using System.Collections.Concurrent;
using System.Reflection;

namespace IamFulfillment.Sandbox.ServiceNow;

/// <summary>
/// WireMock.Net looks for an optional MimeKit plugin (multipart bodies) on the first request of a process by
/// loading every DLL in the application folder; next to the 45 MB Graph SDK that takes seconds. The sandboxes never
/// parse multipart bodies, so <see cref="SkipPluginScan"/> records "no plugin" in WireMock's type cache up front;
/// call it before the first WireMock server of a process starts. Best effort: if WireMock's internals change,
/// nothing happens and the first request is merely slow.
/// </summary>
public static class WireMockStartup
{
    private static int _done;

    public static void SkipPluginScan()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1)
        {
            return;
        }

        try
        {
            var typeLoader = typeof(WireMock.Util.IMimeKitUtils).Assembly.GetType("WireMock.Util.TypeLoader");
            foreach (var name in new[] { "StaticInstancesWhichCannotBeFound", "InstancesWhichCannotBeFound" })
            {
                var notFound = typeLoader?.GetField(name, BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) as ConcurrentBag<Type>;
                notFound?.Add(typeof(WireMock.Util.IMimeKitUtils));
            }
        }
        catch (Exception ex) when (ex is TargetException or FieldAccessException or TypeLoadException or FileNotFoundException)
        {
            // Only an optimisation.
        }
    }
}
