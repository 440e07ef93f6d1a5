namespace Platform.Silo; internal static class Program { public static int Main() => 0; }
