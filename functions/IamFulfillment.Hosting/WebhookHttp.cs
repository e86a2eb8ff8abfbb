using System.Text.Json;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace IamFulfillment.Hosting;

/// <summary>
/// The webhook route, identical on both hosts: reads the raw body once with a size limit, hands the bytes to
/// <see cref="WebhookIntake"/>, and answers with the status and a message that says what was wrong.
/// </summary>
public static class WebhookHttp
{
    public const string ServiceNowRoute = "webhooks/servicenow";
    public const string JiraRoute = "webhooks/jira";

    public static async Task<IResult> HandleAsync(HttpRequest request, TicketSystemKind system, WebhookIntake intake, IntakeOptions options, CancellationToken cancellationToken)
    {
        var limit = options.MaxBodyBytes;
        if (request.ContentLength > limit)
        {
            return Answer(new IntakeResult(IntakeStatus.TooLarge, $"The body is {request.ContentLength} bytes; at most {limit} are accepted."));
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1L;
        }

        byte[] body;
        try
        {
            body = await ReadLimitedAsync(request.Body, limit, cancellationToken);
        }
        catch (BodyTooLargeException)
        {
            return Answer(new IntakeResult(IntakeStatus.TooLarge, $"The body is larger than {limit} bytes."));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Answer(new IntakeResult(IntakeStatus.TooLarge, $"The body is larger than {limit} bytes."));
        }
        catch (BadHttpRequestException)
        {
            return Answer(new IntakeResult(IntakeStatus.BadRequest, "The request body could not be read."));
        }

        var result = await intake.AcceptAsync(system, name => Header(request, name), request.ContentType, body, cancellationToken);
        return Answer(result);
    }

    /// <summary>One header value; a header sent several times (an injection attempt) counts as absent.</summary>
    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null;

    private static IResult Answer(IntakeResult result)
    {
        var payload = new Dictionary<string, string?>
        {
            ["status"] = JsonNamingPolicy.CamelCase.ConvertName(result.Status.ToString()),
            ["message"] = result.Message,
        };
        if (result.DeliveryId is not null)
        {
            payload["deliveryId"] = result.DeliveryId;
        }

        var json = Results.Json(payload, statusCode: result.HttpStatus);
        return result.Status == IntakeStatus.Unavailable ? new WithRetryAfter(json, 10) : json;
    }

    private static async Task<byte[]> ReadLimitedAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new BodyTooLargeException();
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private sealed class BodyTooLargeException : Exception;

    /// <summary>503 answers say when to come back.</summary>
    private sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
