using System.CommandLine;

namespace IamFulfillment.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("IamFulfillment command line: run the demo, validate a policy, export evidence and KPIs.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(EvidenceCommands.CreateExport());
        root.Subcommands.Add(EvidenceCommands.CreateKpis());
        root.Subcommands.Add(EvidenceCommands.CreateVerify());
        return await root.Parse(args).InvokeAsync();
    }
}
