using System.Runtime.InteropServices;
using System.Text;
using Storage.Cli;

// Ctrl+C and SIGTERM cancel the running command, which stops cleanly (an import keeps the batches it committed);
// a second signal terminates as usual.
using var cancellation = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);

var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
// Buffered, unlike Console.Out: an export writes a line per completion and should not flush each one.
await using var stdout = new StreamWriter(Console.OpenStandardOutput(), utf8, bufferSize: 64 * 1024);
await using var stdin = Console.OpenStandardInput();
var console = new CliConsole(stdin, stdout, Console.Error, ShowProgress: !Console.IsErrorRedirected);
return await CliApp.RunAsync(args, console, cancellation.Token);

void Cancel(PosixSignalContext context)
{
    context.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
}
