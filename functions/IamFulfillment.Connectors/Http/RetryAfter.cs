using System.Globalization;
using System.Net.Http.Headers;

namespace IamFulfillment.Connectors.Http;

/// <summary>
/// One parser for the waits servers ask for: <c>Retry-After</c> in seconds or as an HTTP date (Graph, Jira,
/// ServiceNow), and <c>X-RateLimit-Reset</c> as a UNIX time (ServiceNow) or an ISO-8601 time (Jira).
/// </summary>
public static class RetryAfter
{
    /// <summary>
    /// Added to every wait a server asked for: our delay timer and the server's clock tick differently, and a retry
    /// that lands a fraction of a millisecond early is a second breach of the limit, not a retry.
    /// </summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(10);

    /// <summary>How long to wait before retrying: the server's wait plus <see cref="Margin"/>.</summary>
    public static TimeSpan Honouring(TimeSpan asked) => asked + Margin;

    public static TimeSpan? From(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return Clamp(delta);
            }

            if (retryAfter.Date is { } date)
            {
                return Clamp(date - now);
            }
        }

        if (headers.TryGetValues("Retry-After", out var raw) && Parse(raw.FirstOrDefault(), now) is { } parsed)
        {
            return parsed;
        }

        return headers.TryGetValues("X-RateLimit-Reset", out var reset) ? ParseReset(reset.FirstOrDefault(), now) : null;
    }

    /// <summary>Parses a Retry-After value: whole or fractional seconds, or an HTTP date.</summary>
    public static TimeSpan? Parse(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return Clamp(TimeSpan.FromSeconds(seconds));
        }

        return DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? Clamp(date - now)
            : null;
    }

    /// <summary>Parses X-RateLimit-Reset: a UNIX timestamp in seconds (ServiceNow) or an ISO-8601 time such as 2026-11-26T12:05Z (Jira).</summary>
    public static TimeSpan? ParseReset(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var unix))
        {
            return Clamp(DateTimeOffset.FromUnixTimeSeconds(unix) - now);
        }

        string[] formats = ["yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];
        return DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? Clamp(at - now)
            : null;
    }

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
}
