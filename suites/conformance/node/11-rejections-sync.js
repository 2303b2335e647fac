// 11-rejections.js without the async function k() (its C twin needs tasks, which come later);
// 11-rejections-sync.expected is what Node 20 prints for this file
Promise.reject(new Error('e1')).then(() => console.log('never')).catch(() => console.log('caught1')).finally(() => console.log('finally1'))
Promise.resolve().then(() => { throw new Error('e2') }).then(null, () => console.log('caught2')).then(() => console.log('after2'))
Promise.resolve().then(() => console.log('j1')).then(() => console.log('j2')).then(() => console.log('j3'))
