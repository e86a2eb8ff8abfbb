namespace IamFulfillment.Connectors.Http;

/// <summary>Unauthenticated connections are only allowed to test servers on this machine.</summary>
public static class LoopbackGuard
{
    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase);

    public static bool IsLoopback(string? url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && IsLoopback(uri);
}
