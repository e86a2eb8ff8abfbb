using System.Net;
using IamFulfillment.Connectors.Http;

namespace IamFulfillment.Connectors.Tests.Http;

public class RetryAfterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("5", 5)]
    [InlineData("0", 0)]
    [InlineData("1.5", 1.5)]
    [InlineData("Thu, 26 Nov 2026 12:00:30 GMT", 30)]
    public void Parse_SecondsOrHttpDate_ReturnsWait(string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryAfter.Parse(value, Now));

    [Theory]
    [InlineData("1795694460", 60)]           // ServiceNow: UNIX seconds
    [InlineData("2026-11-26T12:02Z", 120)]   // Jira: ISO-8601, minutes precision
    [InlineData("2026-11-26T12:00:10.000Z", 10)]
    [InlineData("2026-11-26T11:00Z", 0)]     // in the past: no wait
    public void ParseReset_UnixOrIso_ReturnsWait(string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryAfter.ParseReset(value, Now));

    [Theory]
    [InlineData("soon")]
    [InlineData("-3")]
    [InlineData("")]
    public void Parse_Garbage_ReturnsNull(string value) => Assert.Null(RetryAfter.Parse(value, Now));

    [Fact]
    public void From_PrefersRetryAfterOverRateLimitReset()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Retry-After", "7");
        response.Headers.TryAddWithoutValidation("X-RateLimit-Reset", "2026-11-26T12:02Z");
        Assert.Equal(TimeSpan.FromSeconds(7), RetryAfter.From(response.Headers, Now));
    }

    [Fact]
    public void From_FallsBackToRateLimitReset()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("X-RateLimit-Reset", "1795694430");
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter.From(response.Headers, Now));
    }
}
