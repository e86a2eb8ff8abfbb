using System.CommandLine;
using System.Globalization;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Reporting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Cli;

/// <summary>
/// Evidence for auditors and KPIs for IAM leads, read from the audit trail in Table storage
/// (configuration: <c>AzureWebJobsStorage</c> and <c>Storage:*</c>, from the environment or appsettings.json).
/// </summary>
internal static class EvidenceCommands
{
    public static Command CreateExport()
    {
        var from = new Option<DateTimeOffset?>("--from") { Description = "Start of the period (ISO-8601, default: 30 days ago)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End of the period (ISO-8601, default: now)." };
        var format = new Option<string>("--format") { Description = "csv or json.", DefaultValueFactory = _ => "csv" };
        var output = new Option<FileInfo?>("--out") { Description = "File to write (default: standard output)." };
        var command = new Command("export", "Export evidence for a period: ticket, requester, target, entitlement, approvals, changes, timestamps, outcome.") { from, to, format, output };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var (store, _) = Storage();
            var (start, end) = Period(result.GetValue(from), result.GetValue(to));
            var rows = Evidence.Rows(await Collect(store.QueryEventsAsync(start, end, cancellationToken)));
            var kind = result.GetValue(format)?.ToLowerInvariant();
            if (kind is not ("csv" or "json"))
            {
                Console.Error.WriteLine("--format must be csv or json.");
                return 2;
            }

            var text = kind == "json" ? Evidence.ToJson(rows) : Evidence.ToCsv(rows);
            if (result.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, text, cancellationToken);
                Console.WriteLine($"{rows.Count} row(s) written to {file.FullName}.");
            }
            else
            {
                Console.Write(text);
            }

            return 0;
        });
        return command;
    }

    public static Command CreateKpis()
    {
        var from = new Option<DateTimeOffset?>("--from") { Description = "Start of the period (default: 30 days ago)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End of the period (default: now)." };
        var command = new Command("kpis", "KPIs from the audit trail: auto-fulfilment rate, time to provision/deprovision, SLA, NeedsInfo rate, escalation completeness.") { from, to };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var (store, grants) = Storage();
            var (start, end) = Period(result.GetValue(from), result.GetValue(to));
            var rows = Evidence.Rows(await Collect(store.QueryEventsAsync(start, end, cancellationToken)));
            var active = (await grants.DueAsync(DateTimeOffset.MaxValue.AddDays(-1), 100_000, cancellationToken)).Count;
            Console.WriteLine($"KPIs {start:yyyy-MM-dd} to {end:yyyy-MM-dd}");
            Console.Write(Kpis.Compute(rows, active).ToMarkdown());
            return 0;
        });
        return command;
    }

    public static Command CreateVerify()
    {
        var system = new Argument<TicketSystemKind>("system") { Description = "ServiceNow or Jira." };
        var key = new Argument<string>("ticket") { Description = "The ticket key (ServiceNow sys_id, Jira issue key)." };
        var command = new Command("verify", "Verify a ticket's audit trail: no gaps, every event unaltered and chained.") { system, key };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var (store, _) = Storage();
            var ticket = new TicketRef(result.GetValue(system), result.GetValue(key)!);
            var trail = await store.ReadTrailAsync(ticket, cancellationToken);
            var problems = AuditChain.Verify(trail);
            foreach (var e in trail)
            {
                Console.WriteLine($"{e.Sequence,5} {e.At.UtcDateTime:O} {e.Kind,-24} {e.Hash[..12]}");
            }

            Console.WriteLine(problems.Count == 0 ? $"{trail.Count} event(s); chain intact." : string.Join(Environment.NewLine, problems));
            return problems.Count == 0 ? 0 : 1;
        });
        return command;
    }

    private static (ITicketStore Store, IGrantRegistry Grants) Storage()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        services.AddAzureStorage(configuration);
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<ITicketStore>(), provider.GetRequiredService<IGrantRegistry>());
    }

    private static (DateTimeOffset From, DateTimeOffset To) Period(DateTimeOffset? from, DateTimeOffset? to)
    {
        var end = to ?? TimeProvider.System.GetUtcNow();
        return (from ?? end.AddDays(-30), end);
    }

    private static async Task<List<AuditEvent>> Collect(IAsyncEnumerable<AuditEvent> events)
    {
        var list = new List<AuditEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
