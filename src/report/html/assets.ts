/**
 * The HTML report's only style sheet and script, inlined (the file must work offline and
 * attached to a ticket). The page's Content-Security-Policy allows exactly these two by hash,
 * so nothing else can run or load even if a string escaped its escaping.
 *
 * The ladder renderer is plain JavaScript, kept here as source text: the browser runs it when a
 * call is selected, and renderHtml runs the same text in Node for the call shown by default
 * (print, no script): one implementation.
 */

export const CSS = `
:root{--fg:#1b1b1b;--muted:#5a5a5a;--bg:#fff;--panel:#f6f7f9;--line:#d4d7dc;--crit:#a50f15;--warn:#8a5300;--info:#1d5a96;--ans:#0072b2;--ret:#e69f00;--lost:#d55e00;--pin:#c03a00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1240px;padding:12px 24px 40px}
h1{font-size:1.55em;margin:.4em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid var(--line)}h3{font-size:1.05em;margin:0 0 .4em}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em}
.meta,.muted{color:var(--muted)}
nav.toc{display:flex;flex-wrap:wrap;gap:.3em 1em;margin:.4em 0 0;font-size:.93em}nav.toc a{color:var(--info)}
.headline{font-size:1.08em;margin:.5em 0;padding:.6em .8em;border-left:5px solid var(--crit);background:#fbeeee}
.headline.ok{border-left-color:#2b7a3d;background:#edf7ef}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;margin:.8em 0}
.figures div{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.45em .7em}
.figures dt{color:var(--muted);font-size:.85em}.figures dd{margin:0;font-size:1.15em;font-weight:600;word-break:break-word}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em;font-size:.9em}
th,td{border-bottom:1px solid var(--line);padding:.3em .5em;text-align:left;vertical-align:top}
th{background:var(--panel);white-space:nowrap}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th button::after{content:" \\2195";color:var(--muted);font-weight:400}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td.wrap,td .wrap{word-break:break-all}
.tablewrap{max-height:32em;overflow:auto;border:1px solid var(--line)}
.tablewrap table{margin:0}.tablewrap th{position:sticky;top:0}
.state-terminated,.state-unresponsive{color:var(--crit);font-weight:600}.state-draining{color:var(--warn);font-weight:600}
.card{border:1px solid var(--line);border-left:6px solid var(--info);border-radius:6px;padding:.8em 1em;margin:0 0 1em;break-inside:avoid;page-break-inside:avoid}
.card.sev-critical{border-left-color:var(--crit)}.card.sev-warning{border-left-color:var(--warn)}
.sev{display:inline-block;font-weight:700;text-transform:uppercase;font-size:.8em;letter-spacing:.04em;padding:.1em .45em;border-radius:3px;border:1.5px solid currentColor;margin-right:.4em}
.sev-critical .sev,.sev.critical{color:var(--crit)}.sev-warning .sev,.sev.warning{color:var(--warn)}.sev-info .sev,.sev.info{color:var(--info)}
.card dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0}.card dt{color:var(--muted)}.card dd{margin:0}
.evidence{margin:.4em 0;padding-left:1.2em}.evidence li{margin:.15em 0}.src{font-weight:600;font-size:.85em;color:var(--info)}
pre.remedy{background:#10151b;color:#f3f6f9;padding:.6em .8em;border-radius:5px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:.3em 0 0}
.calls-list{margin:.3em 0}.callid{font:inherit;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.88em;background:var(--panel);border:1px solid var(--line);border-radius:3px;padding:0 .3em;margin:0 .2em .2em 0;cursor:pointer;color:inherit;word-break:break-all;text-align:left}
.callid[aria-pressed=true]{outline:2px solid var(--info)}
tr.selected td{background:#e8f1fb}
figure{margin:0}figcaption{color:var(--muted);font-size:.88em;margin:.3em 0}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:.88em;margin:.3em 0 .5em;padding:0;list-style:none}.legend li{display:flex;align-items:center;gap:.35em}
svg text{font-family:system-ui,"DejaVu Sans",sans-serif}
svg.timeline{width:100%;height:auto;display:block;border:1px solid var(--line);background:#fff}
.lane-bg{fill:#fafbfc}.lane-bg.alt{fill:#f1f3f6}.grid{stroke:#e2e5e9;stroke-width:1}
.axis{font-size:11px;fill:var(--muted)}.lane-label{font-size:12px;font-weight:600;fill:var(--fg)}.lane-sub{font-size:10.5px;fill:var(--muted)}.lane-sub.bad{fill:var(--crit);font-weight:600}
.row-label{font-size:10px;fill:#333}.row-label.pin{fill:var(--pin);font-weight:700}
.m-a{fill:var(--ans);stroke:#003f63;stroke-width:.6}.m-r{fill:var(--ret);stroke:#6b4700;stroke-width:.7}.m-u{stroke:var(--lost);stroke-width:2.2;fill:none;stroke-linecap:round}
.term-line{stroke:#111;stroke-width:1.6;stroke-dasharray:5 3}.term-text{font-size:10.5px;font-weight:700;fill:#111}
.fl{stroke:#8d959e;stroke-width:3;stroke-linecap:round}.fl.pin{stroke:var(--pin);stroke-width:5}
.fl-aff{stroke:var(--pin);stroke-width:6;stroke-linecap:round}.fl-ct{stroke:#333;stroke-width:2;stroke-dasharray:2 3}
.lostx{stroke:#111;stroke-width:1.6;stroke-linecap:round}
.svgkey{vertical-align:middle}
.ladder svg{max-width:100%;height:auto;border:1px solid var(--line);background:#fff}
.ladder .life{stroke:#9aa1a9;stroke-width:1.2;stroke-dasharray:4 3}.ladder .ep{font-size:12px;font-weight:600}.ladder .role{font-size:10.5px;fill:var(--muted)}
.ladder .msg{stroke:#1b1b1b;stroke-width:1.5}.ladder .msg.resp{stroke:var(--ans)}.ladder .msg.rtx{stroke:var(--ret);stroke-dasharray:6 3}
.ladder .lbl{font-size:11px}.ladder .dt{font-size:10.5px;fill:var(--muted);font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.ladder .lost{fill:var(--crit);font-weight:700;font-size:12px}
.ladder-text{font-size:.85em;color:var(--muted)}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.banner{border:2px solid var(--crit);padding:.5em .8em;border-radius:5px;background:#fbeeee}
@media print{
 body{max-width:none;padding:0;font-size:11px}
 nav.toc,th button::after,.noprint{display:none}
 .tablewrap{max-height:none;overflow:visible;border:0}
 .tablewrap th{position:static}
 thead{display:table-header-group}
 .card,figure,tr{break-inside:avoid;page-break-inside:avoid}
 h2{break-after:avoid;page-break-after:avoid}
 pre.remedy{background:#fff;color:#000;border:1px solid #000}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 a{color:inherit;text-decoration:none}
}
`;

/** HTML escaping in the browser (the data was made visible, control characters shown, before it was embedded). */
const ESC_JS = `
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return c==='&'?'&amp;':c==='<'?'&lt;':c==='>'?'&gt;':c==='"'?'&quot;':'&#39;';});}
`;

/**
 * ladderSvg(call): SVG markup and a text list of the call's INVITE transaction.
 * call: {id, cl (client), sv (service), tg (backend or null), ts (its state), at, o (outcome), n (copies), code, to (timer B ran out), e (endpoints), m ([dt ms, src index, dst index, label, 1 = response, 1 = retransmission]), more}
 */
const LADDER_JS = `
function ladderSvg(c){
  var e=c.e, colW=200, left=86, top=58, rowH=30, n=c.m.length;
  var W=Math.max(left+e.length*colW+10,760), H=top+Math.max(n,1)*rowH+(c.o==='unanswered'?44:20);
  function x(i){return left+colW*(i+0.5);}
  function role(a){return a===c.cl?'client':a===c.sv?'service address':a===c.tg?('backend'+(c.ts&&c.ts!=='active'?' ('+c.ts+')':'')):'';}
  var s='<svg viewBox="0 0 '+W+' '+H+'" width="'+W+'" height="'+H+'" role="img" aria-label="'+esc('Message ladder of Call-ID '+c.id)+'">';
  s+='<title>'+esc('INVITE transaction of Call-ID '+c.id+': '+n+' message(s)')+'</title>';
  s+='<defs><marker id="lad-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1b1b1b"/></marker></defs>';
  for(var i=0;i<e.length;i++){
    s+='<text class="ep" x="'+x(i)+'" y="18" text-anchor="middle">'+esc(e[i])+'</text>';
    s+='<text class="role" x="'+x(i)+'" y="33" text-anchor="middle">'+esc(role(e[i]))+'</text>';
    s+='<line class="life" x1="'+x(i)+'" y1="42" x2="'+x(i)+'" y2="'+(H-8)+'"/>';
  }
  var list='';
  for(var j=0;j<n;j++){
    var m=c.m[j], y=top+j*rowH+14, x1=x(m[1]), x2=x(m[2]);
    var cls='msg'+(m[4]?' resp':'')+(m[5]?' rtx':'');
    var lbl=m[3]+(m[5]?' (retransmission)':'');
    var dt='+'+(m[0]/1000).toFixed(3)+' s';
    s+='<text class="dt" x="4" y="'+(y+4)+'">'+esc(dt)+'</text>';
    if(x1===x2){s+='<path class="'+cls+'" d="M'+x1+','+(y-6)+' h30 v12 h-30" fill="none" marker-end="url(#lad-arrow)"/>';}
    else{s+='<line class="'+cls+'" x1="'+x1+'" y1="'+y+'" x2="'+(x2+(x2>x1?-2:2))+'" y2="'+y+'" marker-end="url(#lad-arrow)"/>';}
    s+='<text class="lbl" x="'+((x1+x2)/2)+'" y="'+(y-5)+'" text-anchor="middle">'+esc(lbl)+'</text>';
    list+='<li>'+esc(dt+' '+e[m[1]]+' \\u2192 '+e[m[2]]+': '+lbl)+'</li>';
  }
  if(c.o==='unanswered'){
    var msg='no response '+(c.to?'by timer B (32 s): the call was lost':'before the capture ended')+(c.tg?' \\u2014 forwarded to '+c.tg+(c.ts&&c.ts!=='active'?' ('+c.ts+')':''):'');
    s+='<text class="lost" x="8" y="'+(H-16)+'">'+esc('\\u2715 '+msg)+'</text>';
    list+='<li>'+esc(msg)+'</li>';
  }
  if(c.more){list+='<li>'+esc(c.more+' more message(s) not kept')+'</li>';}
  s+='</svg>';
  return s+'<ol class="ladder-text">'+list+'</ol>';
}
`;

const PAGE_JS = `
var data=JSON.parse(document.getElementById('stalepin-data').textContent);
function showCall(i,scroll){
  var c=data.calls[i]; if(!c)return;
  document.getElementById('ladder-box').innerHTML=ladderSvg(c);
  document.getElementById('ladder-caption').textContent='Call-ID '+c.id+' \\u2014 '+c.o+', first INVITE '+c.at+', '+c.n+' cop'+(c.n===1?'y':'ies')+' sent';
  var bs=document.querySelectorAll('[data-call]');
  for(var k=0;k<bs.length;k++){var on=bs[k].getAttribute('data-call')===String(i);bs[k].setAttribute('aria-pressed',on?'true':'false');var tr=bs[k].closest('tr');if(tr)tr.classList.toggle('selected',on);}
  if(scroll)document.getElementById('ladder').scrollIntoView({block:'start'});
}
function sortBy(btn){
  var th=btn.closest('th'), table=th.closest('table'), tb=table.tBodies[0];
  var col=Array.prototype.indexOf.call(th.parentNode.children,th);
  var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
  var hs=th.parentNode.children; for(var k=0;k<hs.length;k++)hs[k].removeAttribute('aria-sort');
  th.setAttribute('aria-sort',dir);
  var num=th.getAttribute('data-type')==='num', sign=dir==='ascending'?1:-1;
  var rows=Array.prototype.slice.call(tb.rows).map(function(r,ix){var cell=r.cells[col];var v=cell.hasAttribute('data-v')?cell.getAttribute('data-v'):cell.textContent;return {r:r,ix:ix,v:num?parseFloat(v):v};});
  rows.sort(function(a,b){var d=num?((a.v||0)-(b.v||0)):(a.v<b.v?-1:a.v>b.v?1:0);return d*sign||a.ix-b.ix;});
  for(var j=0;j<rows.length;j++)tb.appendChild(rows[j].r);
}
document.addEventListener('click',function(ev){
  var t=ev.target; if(!(t instanceof Element))return;
  var b=t.closest('[data-call]'); if(b){showCall(+b.getAttribute('data-call'),true);return;}
  var s=t.closest('th button'); if(s)sortBy(s);
});
`;

export const CLIENT_JS = `(function(){'use strict';${ESC_JS}${LADDER_JS}${PAGE_JS}})();`;

/** The ladder renderer, run in Node for the call shown by default. */
export const ladderSvg: (call: unknown) => string = new Function(`${ESC_JS}${LADDER_JS}return ladderSvg;`)() as (call: unknown) => string;
