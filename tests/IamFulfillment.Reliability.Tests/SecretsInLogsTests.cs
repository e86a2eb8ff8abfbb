using System.Collections.Concurrent;
using System.Text;
using IamFulfillment.Cli;
using IamFulfillment.Sandbox.Demo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// The whole demo (<c>iamf demo</c>: seven tickets through the real webhook routes) with every log of every category
/// captured at Trace level, message, structured values, scopes and exceptions, and what the demo prints: no webhook
/// secret, webhook signature, password, API token, client secret, Authorization header value or Temporary Access
/// Pass appears anywhere.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class SecretsInLogsTests(ITestOutputHelper output)
{
    private const string GraphClientSecret = "graph-client-secret-must-not-be-logged~1";

    [Fact]
    public async Task FullDemoRun_LogsAtTraceLevel_ContainNoSecretSignatureTokenOrPass()
    {
        var capture = new CapturingLoggerProvider();
        var signatures = new ConcurrentBag<string>();
        SandboxWorld? world = null;
        var printed = new StringWriter();
        var console = Console.Out;
        int exit;
        Console.SetOut(printed);
        try
        {
            exit = await DemoCommand.RunAsync(keepRunning: false, verbose: true, CancellationToken.None, (w, builder) =>
            {
                world = w;
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Logging:LogLevel:Default"] = "Trace",
                    ["Logging:LogLevel:Microsoft"] = "Trace",
                    ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
                    ["Logging:LogLevel:System.Net.Http"] = "Trace",
                    ["Logging:LogLevel:Azure"] = "Trace",

                    // Configured but never used against a loopback Graph: it must not be logged either.
                    ["Graph:TenantId"] = "00000000-0000-0000-0000-00000000a11d",
                    ["Graph:ClientId"] = "00000000-0000-0000-0000-00000000c11d",
                    ["Graph:ClientSecret"] = GraphClientSecret,
                });
                builder.Logging.SetMinimumLevel(LogLevel.Trace);
                builder.Logging.AddProvider(capture);
                builder.Services.AddSingleton<IStartupFilter>(new RecordSignatures(signatures));
            });
        }
        finally
        {
            Console.SetOut(console);
        }

        Assert.NotNull(world);
        Assert.True(exit == 0, "the demo did not end as expected:\n" + printed);

        var secrets = Secrets(world!, signatures);
        var logs = capture.Text();
        output.WriteLine($"{capture.Count} log records ({logs.Length} characters) and {printed.ToString().Length} characters printed, checked for {secrets.Count} secret values " +
                         $"({signatures.Count} signatures, {secrets.Count(s => s.Name.StartsWith("pass", StringComparison.Ordinal))} passes).");
        Assert.True(capture.Count > 100, $"only {capture.Count} log records captured: the capture is not seeing the host's logs");
        Assert.True(signatures.Count >= 7, $"only {signatures.Count} signed deliveries seen");
        Assert.Contains(secrets, s => s.Name.StartsWith("pass", StringComparison.Ordinal));

        var leaks = secrets.SelectMany(s => new[] { ("logs", logs), ("printed", printed.ToString()) }
            .Where(t => t.Item2.Contains(s.Value, StringComparison.Ordinal))
            .Select(t => $"{s.Name} appears in the {t.Item1}: …{Around(t.Item2, s.Value)}…")).ToList();
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
    }

    private static List<(string Name, string Value)> Secrets(SandboxWorld world, IEnumerable<string> signatures)
    {
        var sn = world.ServiceNow.Options;
        var jira = world.Jira!.Options;
        var list = new List<(string, string)>
        {
            ("ServiceNow webhook secret", sn.WebhookSecret),
            ("ServiceNow webhook key", Encoding.UTF8.GetString(Convert.FromBase64String(sn.WebhookSecret))),
            ("ServiceNow password", sn.IntegrationPassword),
            ("ServiceNow basic credentials", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{sn.IntegrationUserName}:{sn.IntegrationPassword}"))),
            ("Jira webhook secret", jira.WebhookSecret),
            ("Jira API token", jira.IntegrationApiToken),
            ("Jira basic credentials", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{jira.IntegrationEmail}:{jira.IntegrationApiToken}"))),
            ("Graph client secret", GraphClientSecret),
        };
        list.AddRange(signatures.Distinct().Select(s => ("webhook signature", s)));
        list.AddRange(signatures.Distinct().Where(s => s.StartsWith("sha256=", StringComparison.Ordinal)).Select(s => ("webhook signature (hex)", s["sha256=".Length..])));
        foreach (var person in world.Demo.Everyone)
        {
            list.AddRange(world.Graph.TapsIssued(person.GraphId).Select(t => ($"pass of {person.Key}", t.Pass)));
        }

        return list;
    }

    private static string Around(string text, string value)
    {
        var i = text.IndexOf(value, StringComparison.Ordinal);
        var start = Math.Max(0, i - 80);
        return text[start..Math.Min(text.Length, i + value.Length + 40)].ReplaceLineEndings(" ");
    }

    /// <summary>Notes the signature header of every delivery the host receives, so the test knows what to look for.</summary>
    private sealed class RecordSignatures(ConcurrentBag<string> signatures) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (HttpContext context, Func<Task> inner) =>
            {
                foreach (var header in new[] { "X-IamF-Signature", "X-Hub-Signature" })
                {
                    if (context.Request.Headers.TryGetValue(header, out var value) && value.ToString() is { Length: > 0 } text)
                    {
                        signatures.Add(text);
                    }
                }

                await inner();
            });
            next(app);
        };
    }

    /// <summary>Every record at every level: the formatted message, each structured value, the scopes and the exception.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private readonly ConcurrentQueue<string> _records = new();
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public int Count => _records.Count;

        public string Text() => string.Join("\n", _records);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var text = new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    foreach (var (key, value) in values)
                    {
                        text.Append(" | ").Append(key).Append('=').Append(value);
                    }
                }

                provider._scopes.ForEachScope((scope, sb) => sb.Append(" | scope ").Append(scope), text);
                if (exception is not null)
                {
                    text.Append(" | ").Append(exception);
                }

                provider._records.Enqueue(text.ToString());
            }
        }
    }
}

/// <summary>Tests that redirect the process's console run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}
