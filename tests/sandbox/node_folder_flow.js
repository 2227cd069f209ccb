// node-marketo-rest against the sandbox: browse folders (offset pages through the library's
// nextPage), create a subfolder of the first "List" folder, create a static list in it, add a
// lead, read the folder's contents and the list's members. node-marketo-rest has no folder or
// static-list helpers, so (as Grouparoo does) the asset calls go through its connection.
// Prints one JSON object on stdout; the pytest side asserts on it.
// Usage: NODE_PATH=<node_modules> node node_folder_flow.js <endpoint> <identity> <id> <secret>
'use strict';
const Marketo = require('node-marketo-rest');

const [endpoint, identity, clientId, clientSecret] = process.argv.slice(2);
const marketo = new Marketo({ endpoint, identity, clientId, clientSecret,
                              retry: { maxRetries: 1, initialDelay: 10, maxDelay: 20 } });
const conn = marketo._connection;

async function browseAll(pageSize) {
  const folders = [];
  let pages = 0;
  let page = await conn.get('/asset/v1/folders.json', { query: { maxReturn: pageSize } });
  while (page.result && page.result.length) {
    pages += 1;
    folders.push(...page.result);
    if (page.result.length < pageSize || !page.nextPage) break;
    page = await page.nextPage();
  }
  return { folders, pages };
}

async function main() {
  const { folders, pages } = await browseAll(3);
  const listFolder = folders.find((f) => f.folderType === 'List');
  const made = await conn.post('/asset/v1/folders.json', {
    data: { name: 'Node imports', parent: JSON.stringify(listFolder.folderId),
            description: 'made by node-marketo-rest' },
  });
  const sub = made.result[0];
  const created = await conn.post('/asset/v1/staticLists.json', {
    data: { name: 'Node list', folder: JSON.stringify(sub.folderId) },
  });
  const list = created.result[0];
  const lead = await marketo.lead.createOrUpdate([{ email: 'node@example.com' }],
                                                 { lookupField: 'email' });
  const added = await marketo.list.addLeadsToList(list.id, [lead.result[0].id]);
  const contents = await conn.get(`/asset/v1/folder/${sub.id}/content.json`,
                                  { query: { type: 'Folder' } });
  const members = await marketo.list.getLeads(list.id);
  process.stdout.write(JSON.stringify({
    pages, folderPaths: folders.map((f) => f.path), listFolder: listFolder.path,
    sub, list, added: added.result, contents: contents.result, members: members.result,
  }));
}

main().catch((err) => {
  process.stderr.write(`node flow failed: ${err && (err.stack || JSON.stringify(err))}\n`);
  process.exit(1);
});
