// GraphiQL (development mode) from the gateway's pinned copies; the console's token, if any,
// is put in the headers editor. No inline script: the page's policy forbids it.
(function () {
  const url = new URL("/graphql", location.href).toString();
  const token = sessionStorage.getItem("weftwork.token");
  const headers = token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : undefined;
  const fetcher = GraphiQL.createFetcher({
    url,
    subscriptionUrl: url.replace(/^http/, "ws"),
    wsConnectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      plugins: [explorer],
      defaultEditorToolsVisibility: true,
      headers,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
